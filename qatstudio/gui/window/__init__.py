"""The main window: its menus, status line, file dialogs and help; its work is done by ``gui/presenters``."""
