"""The main window: its controller, menus, status line, file dialogs and help."""
