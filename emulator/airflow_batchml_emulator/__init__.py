"""Local Azure ML emulator."""
