"""Allow ``python -m neurocl`` (and ``torchrun -m neurocl``)."""

from neurocl.cli.main import run

if __name__ == "__main__":
    run()
