"""The main window's docks: configure, compile, results, deploy, history."""
