"""``python -m scopehub.hub_extension``: run the scopehub JupyterHub service (the hub starts it)."""

from .service import main

if __name__ == "__main__":
    main()
