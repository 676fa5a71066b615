"""``python -m mountcam``: the same command line as the ``mountcam`` script."""

from mountcam.app.cli import main

if __name__ == "__main__":
    main()
