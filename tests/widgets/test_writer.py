"""``dataset.create_image``: numpy and dask arrays (one larger than the memory the writing process uses)
become catalogue images with pyramids; bad arrays are refused with the server's message; an
interrupted write leaves nothing in the catalogue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pytest

import scopehub
from scopehub.widgets.writer import as_tczyx, block_shape

from ..api_client import Api, unique
from .conftest import make_data


def test_numpy_arrays_of_every_layout(hub: scopehub.Hub, dataset) -> None:
    plane = make_data((1, 1, 1, 600, 900), seed=1)[0, 0, 0]
    image = dataset.create_image(plane, name="plane", physical_size=0.325, progress=False)
    assert image.shape == (1, 1, 1, 600, 900) and image.physical_size == {"x": 0.325, "y": 0.325, "z": None}
    assert [d.id for d in image.datasets()] == [dataset.id]
    np.testing.assert_array_equal(image.to_numpy(t=0, c=0, z=0), plane)
    assert image.levels == [(600, 900), (300, 450)]
    assert image.channel_names == ["Channel 0"]
    # Channels last (RGB), z-stacks, and 5-D float data with names and colours.
    rgb = np.random.default_rng(2).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    image = dataset.create_image(rgb, name="rgb", dims="yxc", channel_names=["R", "G", "B"],
                                 channel_colors=["#FF0000", "00FF00", "0000FF"], progress=False)
    assert image.shape == (1, 3, 1, 300, 400)
    np.testing.assert_array_equal(image.to_numpy(t=0, z=0), np.moveaxis(rgb, 2, 0))
    assert [(c["name"], c["color"]) for c in image.channels] == [("R", "FF0000"), ("G", "00FF00"), ("B", "0000FF")]
    stack = np.linspace(-1, 1, 4 * 520 * 515, dtype=np.float32).reshape(4, 520, 515)
    image = dataset.create_image(stack, name="stack", dims="zyx", physical_size=(2.0, 0.5, 0.5), progress=False)
    assert image.shape == (1, 1, 4, 520, 515) and image.physical_size == {"x": 0.5, "y": 0.5, "z": 2.0}
    np.testing.assert_array_equal(image.to_numpy(t=0, c=0), stack)
    labels = np.zeros((2, 3, 1, 70, 80), np.int32)
    labels[..., 10:20, 30:60] = 7
    image = dataset.create_image(labels, name="labels", label=True, description="segmented", progress=False)
    np.testing.assert_array_equal(image.to_numpy(), labels)
    assert image.description == "segmented"


def test_a_dask_array_is_written_block_by_block(hub: scopehub.Hub, dataset) -> None:
    data = da.from_array(make_data((1, 2, 1, 1500, 1300), seed=3), chunks=(1, 1, 1, 700, 1300))
    image = dataset.create_image(data, name="lazy", progress=False)
    np.testing.assert_array_equal(image.to_numpy(), data.compute())
    # Blocks follow the dask chunks, rounded up to whole 512² chunks, so none is computed twice.
    assert block_shape(data) == (1, 1, 1, 1024, 1536)
    assert block_shape(da.zeros((1, 1, 40, 4096, 4096), np.float64, chunks=(1, 1, 40, 4096, 4096))) == \
        (1, 1, 1, 2048, 4096)
    assert as_tczyx(da.zeros((5, 6, 7), chunks=2), "zxy").shape == (1, 1, 5, 7, 6)


@pytest.mark.parametrize(("array", "kwargs", "error", "message"), [
    (np.zeros((10, 10), np.int64), {}, scopehub.BadRequest, "pixel type 'int64' is not supported: the store keeps "
     "uint8, uint16, uint32, int8, int16, int32, float32, float64 (64-bit integers: cast with array.astype('int32')"),
    (np.zeros((10, 10), bool), {}, scopehub.BadRequest, "pixel type 'bool' is not supported"),
    (np.zeros((10, 10), np.complex64), {}, scopehub.BadRequest, "pixel type 'complex64' is not supported"),
    (np.zeros((0, 10), np.uint8), {}, scopehub.BadRequest, "shape.3: Input should be greater than or equal to 1"),
    (np.zeros((3, 10, 10), np.uint8), {}, ValueError, "a 3-D array needs dims= to say what its axes are"),
    (np.zeros((3, 10, 10), np.uint8), {"dims": "cyy"}, ValueError, "name each axis once"),
    (np.zeros((3, 10, 10), np.uint8), {"dims": "cyx", "channel_names": ["a"]}, scopehub.BadRequest,
     "channel_names has 1 entries for 3 channels"),
    (np.zeros(10, np.uint8), {}, ValueError, "a 1-D array needs dims="),
])
def test_bad_arrays_are_refused_with_the_servers_message(hub: scopehub.Hub, dataset, array, kwargs, error,
                                                         message) -> None:
    before = {w["id"] for w in hub.http.get("writes", limit=1000)["items"]}
    with pytest.raises(error) as refused:
        dataset.create_image(array, name="bad", progress=False, **kwargs)
    assert message in str(refused.value)
    if isinstance(refused.value, scopehub.ScopehubError):
        assert refused.value.status == 400 and refused.value.message.startswith(message[:20])
    assert {w["id"] for w in hub.http.get("writes", limit=1000)["items"]} == before  # nothing was opened
    assert len(dataset.images()) == 0


def test_writing_where_you_may_not_is_forbidden(api: Api, hub: scopehub.Hub) -> None:
    from ..api_client import make_team

    team = make_team(api, "read-annotate")
    theirs = scopehub.connect(api.base, api.token, act_as=team.alice.act_as).create_dataset(
        unique("alice's"), group=team.group, provenance=False)
    bob = scopehub.connect(api.base, api.token, act_as=team.bob.act_as)
    with pytest.raises(scopehub.Forbidden, match=f"you may not link dataset {theirs.id}"):
        bob.dataset(theirs.id).create_image(np.zeros((8, 8), np.uint8), name="x", progress=False)


def _client_script(api: Api, dataset_id: int, body: str) -> str:
    return textwrap.dedent(f"""
        import sys, time
        import numpy as np, dask.array as da
        import scopehub
        hub = scopehub.connect({api.base!r}, {api.token!r})
        dataset = hub.dataset({dataset_id})
    """) + textwrap.dedent(body)


def _run_until_chunks_arrive(script: str, store: Path,
                             env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
    before = set((store / "tmp").glob("write-*"))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 60
    while True:
        folders = [f for f in set((store / "tmp").glob("write-*")) - before if any(f.rglob("chunks/*/*/*/*/*"))]
        if folders:
            return proc, folders[0]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no chunk arrived"
        time.sleep(0.05)


# Slow enough that the test's signal always lands mid-write, even on a loaded machine (at 0.3 s a block,
# the whole write was once over before the signal came).
SLOW_WRITE = """
    def slow(block):
        time.sleep(1.5)
        return block
    data = da.ones((1, 1, 1, 4096, 4096), np.uint16, chunks=(1, 1, 1, 256, 4096)).map_blocks(slow)
    dataset.create_image(data, name="interrupted", progress=False)
"""


def test_an_interrupted_write_leaves_nothing(api: Api, hub: scopehub.Hub, dataset, catalogue) -> None:
    store = Path(catalogue.data_dir) / "store"
    # Ctrl-C (SIGINT) while it uploads: the client aborts the write, its chunks go.
    proc, folder = _run_until_chunks_arrive(_client_script(api, dataset.id, SLOW_WRITE), store)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    write_id = int(folder.name.removeprefix("write-"))
    assert hub.write(write_id)["status"] == "aborted"
    assert not folder.exists()
    assert len(dataset.images()) == 0
    # Killed outright: nothing reaches the catalogue; the open write waits for its expiry.
    proc, folder = _run_until_chunks_arrive(_client_script(api, dataset.id, SLOW_WRITE), store)
    proc.kill()
    proc.communicate(timeout=60)
    write_id = int(folder.name.removeprefix("write-"))
    assert hub.write(write_id)["status"] == "open" and hub.write(write_id)["image_id"] is None
    assert len(dataset.images()) == 0
    hub.http.request("DELETE", f"writes/{write_id}")
    assert not folder.exists()


def test_a_dask_array_larger_than_the_memory_the_writer_uses(api: Api, hub: scopehub.Hub, dataset) -> None:
    """768 MiB of pixels written by a process whose peak memory (VmHWM) stays a fraction of that."""
    side = 16384 + 4096 + 512 + 100  # not a multiple of the chunk size
    body = f"""
        import json, resource
        side = {side}
        y, x = da.meshgrid(da.arange(side, dtype=np.uint32, chunks=2048), da.arange(side, dtype=np.uint32,
                           chunks=2048), indexing="ij")
        data = ((y * 7 + x * 3) % 65521).astype(np.uint16)[None, None, None]
        start = time.monotonic()
        image = dataset.create_image(data, name="large", progress=True)
        took = time.monotonic() - start
        peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM"))
        print(json.dumps({{"id": image.id, "peak": peak, "nbytes": data.nbytes, "seconds": took}}))
    """
    done = subprocess.run([sys.executable, "-c", _client_script(api, dataset.id, body)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["nbytes"] == side * side * 2 > 750 * 2**20
    assert report["peak"] < report["nbytes"] / 3, report
    # The progress bar went to the terminal.
    assert "sending large" in done.stderr and "saving large" in done.stderr
    image = hub.image(report["id"])
    assert image.shape == (1, 1, 1, side, side) and len(image.levels) == 7
    yy, xx = np.mgrid[side - 300:side, 9000:9400].astype(np.uint32)
    np.testing.assert_array_equal(image.to_numpy(t=0, c=0, z=0, region=(9000, side - 300, 400, 300)),
                                  ((yy * 7 + xx * 3) % 65521).astype(np.uint16))
