"""Recording the show (`Recorder`), the show event log (`showlog`), offline song->video render."""
