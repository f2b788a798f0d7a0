"""`python -m gantool …` (also what `torchrun -m gantool train …` runs on each rank)."""

from gantool.cli import main

if __name__ == "__main__":
    main()
