"""Image-folder load speed: a 10k-image Fashion-MNIST folder, first load and cached load.

    .venv/bin/python benchmarks/load_speed.py
"""

import os
import platform
import tempfile
import time
from pathlib import Path

from common import fashion_folder, write_section

from ganaug_cli.config import DataConfig
from ganaug_cli.data import load_image_folder


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ganaug-load-"))
    folder = fashion_folder(work / "fmnist-10k", per_class=1000)
    os.environ["GANAUG_CACHE_DIR"] = str(work / "cache")
    rows = []
    for label in ("first load (decode, write cache)", "second load (from cache)", "load with --no-cache"):
        config = DataConfig(path=folder, resolution=32, cache=label != "load with --no-cache")
        start = time.perf_counter()
        data = load_image_folder(config)
        seconds = time.perf_counter() - start
        rows.append((label, len(data.files), seconds))
    lines = [
        "## Image-folder load speed",
        "",
        f"10,000 Fashion-MNIST PNGs (28×28 gray, 10 classes) loaded at resolution 32, "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}). "
        "Measured with `.venv/bin/python benchmarks/load_speed.py`.",
        "",
        "| load | images | seconds | images/s |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {label} | {n} | {s:.2f} | {n / s:,.0f} |" for label, n, s in rows]
    write_section("load-speed", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
