"""Qt-free application services: what the window and the command line share above the engine."""
