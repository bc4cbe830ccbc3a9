"""The TUI's screens: the main three-pane screen, help, and the dialogs."""
