"""``python -m sanxian_yidan``: the ``sanxian`` command line (same as the console script)."""

from sanxian_yidan.cli import main

if __name__ == "__main__":
    main()
