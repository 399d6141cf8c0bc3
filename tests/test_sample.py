"""ganaug sample and ganaug runs: layout, counts, streams, determinism, errors."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image


def written(out: str) -> list[Path]:
    return [Path(line) for line in out.splitlines()]


def images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".png", ".jpg", ".webp"))


def test_n_is_split_evenly_over_classes_with_the_remainder_first(cli, trained_runs, tmp_path):
    out = tmp_path / "s"
    code, stdout, err = cli("sample", "--run", trained_runs["conditional"], "-n", "7", "--out", out, "--seed", "1")
    assert code == 0, err
    counts = {d.name: len(list(d.glob("*.png"))) for d in sorted(out.iterdir()) if d.is_dir()}
    assert counts == {"boot": 3, "coat": 2, "shirt": 2}
    assert sorted(written(stdout)) == images_under(out)  # stdout lines are exactly the files written


def test_per_class_and_chosen_classes(cli, trained_runs, tmp_path):
    out = tmp_path / "s"
    code, stdout, _ = cli("sample", "--run", trained_runs["conditional"], "--per-class", "2",
                          "--class", "shirt", "--class", "boot", "--out", out)
    assert code == 0
    assert sorted(p.relative_to(out).as_posix() for p in images_under(out)) == [
        "boot/000001.png", "boot/000002.png", "shirt/000001.png", "shirt/000002.png"]


def test_an_unconditional_run_writes_a_flat_folder_of_gray_pngs(cli, trained_runs, tmp_path):
    out = tmp_path / "s"
    code, stdout, _ = cli("sample", "--run", trained_runs["unconditional"], "-n", "3", "--out", out)
    assert code == 0
    files = images_under(out)
    assert [p.name for p in files] == ["000001.png", "000002.png", "000003.png"]
    image = Image.open(files[0])
    assert image.mode == "L" and image.size == (16, 16)


def test_a_second_call_adds_images_and_only_overwrite_replaces(cli, trained_runs, tmp_path):
    out = tmp_path / "s"
    run = trained_runs["unconditional"]
    cli("sample", "--run", run, "-n", "2", "--out", out)
    code, stdout, _ = cli("sample", "--run", run, "-n", "2", "--out", out)
    assert code == 0
    assert [p.name for p in written(stdout)] == ["000003.png", "000004.png"]
    assert len(images_under(out)) == 4
    code, stdout, _ = cli("sample", "--run", run, "-n", "1", "--out", out, "--overwrite")
    assert [p.name for p in images_under(out)] == ["000001.png"]
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 1


def test_the_same_seed_gives_byte_identical_files(cli, trained_runs, tmp_path):
    run = trained_runs["conditional"]
    for name in ("a", "b"):
        cli("sample", "--run", run, "-n", "6", "--seed", "42", "--out", tmp_path / name, "--batch-size", "4")
    a, b = images_under(tmp_path / "a"), images_under(tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    cli("sample", "--run", run, "-n", "6", "--seed", "43", "--out", tmp_path / "c")
    assert [p.read_bytes() for p in images_under(tmp_path / "c")] != [p.read_bytes() for p in a]


def test_the_manifest_records_every_image(cli, trained_runs, tmp_path):
    out = tmp_path / "s"
    cli("sample", "--run", trained_runs["conditional"], "-n", "3", "--out", out, "--seed", "5")
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["file"] for r in records) == [p.relative_to(out).as_posix() for p in images_under(out)]
    assert {r["class"] for r in records} == {"boot", "coat", "shirt"}
    assert all(r["seed"] == 5 and r["family"] == "gan" and r["checkpoint_step"] == 2 for r in records)


def test_json_prints_one_summary_and_quiet_prints_nothing(cli, trained_runs, tmp_path):
    code, stdout, _ = cli("sample", "--run", trained_runs["conditional"], "-n", "3", "--out", tmp_path / "j", "--json")
    summary = json.loads(stdout)
    assert summary["count"] == 3 and summary["family"] == "gan" and summary["per_class"] == {"boot": 1, "coat": 1, "shirt": 1}
    code, stdout, stderr = cli("sample", "--run", trained_runs["conditional"], "-n", "3", "--out", tmp_path / "q", "--quiet")
    assert (code, stdout, stderr) == (0, "", "")


def test_rgba_runs_write_rgba_and_refuse_jpg(cli, trained_runs, tmp_path):
    out = tmp_path / "s"
    code, stdout, _ = cli("sample", "--run", trained_runs["rgba"], "-n", "1", "--out", out, "--size", "24")
    image = Image.open(written(stdout)[0])
    assert image.mode == "RGBA" and image.size == (24, 24)
    code, _, err = cli("sample", "--run", trained_runs["rgba"], "-n", "1", "--out", out, "--format", "jpg")
    assert code == 1 and "use --format png or webp" in err


def test_unknown_class_lists_the_known_ones(cli, trained_runs, tmp_path):
    code, stdout, err = cli("sample", "--run", trained_runs["conditional"], "--class", "hat", "--out", tmp_path / "s")
    assert (code, stdout) == (1, "")
    assert err.splitlines()[-1] == "error: unknown class 'hat' (known: boot, coat, shirt)"
    assert not (tmp_path / "s").exists()


def test_a_missing_run_names_what_was_looked_for(cli, tmp_path):
    code, _, err = cli("sample", "--run", tmp_path / "nope")
    assert code == 1 and f"{tmp_path / 'nope'}: no such run folder" in err
    code, _, err = cli("sample")
    assert code == 1 and "no trained run found under runs/" in err


def test_n_and_per_class_together_is_a_usage_error(cli, trained_runs):
    assert cli("sample", "--run", trained_runs["conditional"], "-n", "2", "--per-class", "2")[0] == 2


def test_the_latest_run_is_sampled_by_default_into_its_samples_folder(cli, two_class_folder):
    from conftest import TINY_GAN

    cli("train-gan", "--data", two_class_folder, "--steps", "1", *TINY_GAN)
    code, stdout, _ = cli("sample", "-n", "2")
    assert code == 0
    assert all(p.parts[:3] == ("runs", "gan-0001", "samples") for p in written(stdout))


def test_runs_lists_trained_runs(cli, two_class_folder):
    from conftest import TINY_GAN

    cli("train-gan", "--data", two_class_folder, "--steps", "2", *TINY_GAN)
    code, stdout, _ = cli("runs")
    assert code == 0
    header, row = stdout.splitlines()
    assert header.startswith("RUN") and row.startswith("runs/gan-0001") and " 2 " in row
    listed = json.loads(cli("runs", "--json")[1])
    assert listed[0]["family"] == "gan" and listed[0]["class_names"] == ["cat", "dog"]


def test_a_closed_pipe_ends_quietly(trained_runs, tmp_path):
    command = (f"{sys.executable} -m ganaug_cli sample --run {trained_runs['conditional']} -n 300 "
               f"--out {tmp_path / 's'} --batch-size 8 | head -3")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert len(result.stdout.splitlines()) == 3
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


def test_the_grid_option_writes_a_png(cli, trained_runs, tmp_path):
    grid = tmp_path / "grid.png"
    code, _, _ = cli("sample", "--run", trained_runs["conditional"], "-n", "6", "--out", tmp_path / "s", "--grid", grid)
    assert code == 0 and Image.open(grid).mode == "L"


def test_a_pickle_checkpoint_is_refused_by_sample_and_its_code_never_runs(cli, tmp_path):
    import torch

    marker = tmp_path / "pwned"

    class Payload:  # unpickling it would create the marker file
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "ganaug-checkpoint", "format_version": 1, "x": Payload()}, evil)
    code, stdout, err = cli("sample", "--checkpoint", evil, "--out", tmp_path / "s")
    assert (code, stdout) == (1, "") and "pickled code" in err
    assert not marker.exists()


def test_the_grid_of_a_conditional_run_has_one_row_per_class(cli, trained_runs, tmp_path):
    grid = tmp_path / "rows.png"
    code, _, _ = cli("sample", "--run", trained_runs["conditional"], "-n", "7", "--out", tmp_path / "s", "--grid", grid)
    assert code == 0
    width, height = Image.open(grid).size
    assert (width, height) == (2 + 3 * 18, 2 + 3 * 18)  # 3 classes × up to 3 images of 16 px, 2 px borders
