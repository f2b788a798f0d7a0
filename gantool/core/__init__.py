"""The bottom layer, imported by every other: errors and exit codes, atomic file I/O and locks,
progress notes, config decoding and lazy package attributes. Standard library only."""
