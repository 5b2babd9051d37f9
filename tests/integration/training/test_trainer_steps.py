"""Each training step on its own, with the tiny model: data, models, loop, validation, save, resume."""

import io
import json

import pytest
from PIL import Image

from schemas.training import TrainAdapter, TrainingConfig
from services.datasets.importer import DatasetImporter
from services.datasets.sources import read_source
from services.errors import InvalidInput
from tests.integration.training.builders import CrashAt, StoreIO, logo_rows, write_logos, write_parquet
from workers.trainer import artifacts
from workers.trainer.data import NoTrainingImages, UnknownDataset, collect_samples, split_heldout
from workers.trainer.run import RunPlan, execute

TINY = {"resolution": 64, "inference_steps": 1, "rank": 4, "batch_size": 2, "learning_rate": 1e-2}


def plan(run_id: str, model_dir, examples, **config) -> RunPlan:
    train, heldout = split_heldout(examples, 0.25)
    return RunPlan(run_id, TrainingConfig(**{**TINY, **config}), str(model_dir), "cpu", train, heldout)


async def test_collect_samples_from_rated_images_and_datasets(store, db, tmp_path):
    await store.put("images/job1/0.png", logo_rows(1)[0][0], "image/png")
    await db.images.insert_one({"_id": "job1-0", "key": "images/job1/0.png", "prompt": "a fox logo"})
    path = write_parquet(tmp_path / "d.parquet", logo_rows(2))
    await DatasetImporter(store, db).import_entries("shapes", read_source(path), "parquet")

    command = TrainAdapter(correlation_id="r", run_id="r", image_ids=["job1-0", "gone-0"], datasets=["shapes"])
    samples = await collect_samples(db, store, command)
    assert [(s.caption, s.origin) for s in samples] == [
        ("a fox logo", "image:job1-0"),
        ("a logo of a red circle, white background", "dataset:shapes"),
        ("a logo of a red square, white background", "dataset:shapes"),
    ]

    with pytest.raises(UnknownDataset, match="datasets: unknown dataset 'nope'"):
        await collect_samples(db, store, TrainAdapter(correlation_id="r", run_id="r", datasets=["nope"]))
    with pytest.raises(NoTrainingImages, match="^image_ids, datasets: the run has no training images"):
        await collect_samples(db, store, TrainAdapter(correlation_id="r", run_id="r", image_ids=["gone-0"]))


def test_heldout_split_is_stable_and_disjoint(tmp_path):
    examples = write_logos(tmp_path, 12)
    train, heldout = split_heldout(examples, 0.25)
    assert len(heldout) == 3 and not {e.key for e in train} & {e.key for e in heldout}
    assert split_heldout(list(reversed(examples)), 0.25)[1] == heldout
    single = examples[:1]
    assert split_heldout(single, 0.25) == (single, single)


async def test_killed_run_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_run(
    store, model_dir, model_thread, tmp_path
):
    import safetensors.torch
    import torch

    examples = write_logos(tmp_path / "logos", 6)
    settings = {"max_steps": 4, "checkpoint_every": 2, "validate_every": 4}
    whole = await model_thread.run(execute, plan("whole", model_dir, examples, **settings), StoreIO(store))

    crashing = StoreIO(store, crash_at_step=3)
    with pytest.raises(CrashAt):
        await model_thread.run(execute, plan("killed", model_dir, examples, **settings), crashing)
    assert [step for step, _, _ in crashing.steps] == [1, 2, 3]
    assert json.loads((await store.get(artifacts.latest_checkpoint_key("killed"))).body)["step"] == 2

    again = StoreIO(store)
    resumed = await model_thread.run(execute, plan("killed", model_dir, examples, **settings), again)
    assert resumed.resumed_from == 2
    assert [step for step, _, _ in again.steps] == [3, 4]
    assert resumed.losses == pytest.approx(whole.losses, rel=1e-5)
    ours, theirs = safetensors.torch.load(resumed.adapter), safetensors.torch.load(whole.adapter)
    assert ours.keys() == theirs.keys()
    assert all(torch.allclose(ours[k], theirs[k], atol=1e-6) for k in ours)
    assert any(float(ours[k].abs().max()) > 0 for k in ours if "lora.up" in k)  # it did train

    grid = Image.open(io.BytesIO((await store.get(artifacts.validation_key("killed", 4))).body))
    assert grid.height > 64 and grid.width >= 64
    assert {"heldout_loss", "heldout_loss_base", "train_loss"} <= resumed.metrics.keys()
    assert again.steps[-1][2] == 0.0  # seconds left at the last step


def test_adapter_file_loads_in_diffusers_with_its_alpha(model_dir):
    """The saved safetensors is a diffusers LoRA: loading it reproduces the trained UNet's output."""
    import tempfile
    from pathlib import Path

    import torch
    from diffusers import StableDiffusionPipeline

    from workers.trainer.models import add_lora, load_components

    config = TrainingConfig(rank=4, alpha=16, resolution=64)
    components = load_components(str(model_dir), config, "cpu")
    add_lora(components, config)
    with torch.no_grad():
        for name, parameter in components.unet.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5, generator=torch.Generator().manual_seed(len(name)))
    sample, states = torch.randn(1, 4, 8, 8), torch.randn(1, 77, 32)
    with torch.no_grad():
        trained = components.unet(sample, 500, states).sample

    pipeline = StableDiffusionPipeline.from_pretrained(str(model_dir))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / artifacts.ADAPTER_WEIGHTS).write_bytes(artifacts.adapter_bytes(components))
        pipeline.load_lora_weights(folder, weight_name=artifacts.ADAPTER_WEIGHTS, adapter_name="v1")
    with torch.no_grad():
        loaded = pipeline.unet(sample, 500, states).sample
        pipeline.disable_lora()
        base = pipeline.unet(sample, 500, states).sample
    assert torch.allclose(trained, loaded, atol=1e-5)
    assert not torch.allclose(base, loaded, atol=1e-3)


async def test_checkpointing_bf16_snr_and_accumulation_train_every_lora_weight(model_dir, model_thread, tmp_path):
    await model_thread.run(_train_one_step_with_everything, model_dir, tmp_path)


def _train_one_step_with_everything(model_dir, tmp_path) -> None:
    import torch

    from workers.trainer.data import encode_set
    from workers.trainer.loop import LoraLoop
    from workers.trainer.models import add_lora, load_components

    config = TrainingConfig(
        **{**TINY, "batch_size": 1},
        gradient_checkpointing=True,
        mixed_precision="bf16",
        snr_gamma=5.0,
        gradient_accumulation_steps=2,
    )
    components = load_components(str(model_dir), config, "cpu")
    parameters = add_lora(components, config)
    assert components.unet.dtype == torch.bfloat16 and all(p.dtype == torch.float32 for p in parameters)
    before = [p.detach().clone() for p in parameters]
    loop = LoraLoop(components, parameters, config, encode_set(components, write_logos(tmp_path, 4), 64, True))
    loss = loop.step()
    assert loss == loss and loss > 0  # finite
    changed = sum(not torch.equal(a, b) for a, b in zip(before, parameters, strict=True))
    assert changed == len(parameters)  # every LoRA weight got a gradient through the checkpointed UNet


def test_text_encoder_lora_trains_or_is_refused_by_name(model_dir, tmp_path):
    """Text-encoder LoRA needs peft >= 0.22 under transformers 5; with an older peft it is refused clearly."""
    import importlib.metadata

    import torch
    from packaging.version import Version

    from workers.trainer.models import add_lora, load_components

    config = TrainingConfig(**TINY, train_text_encoder=True)
    components = load_components(str(model_dir), config, "cpu")
    if Version(importlib.metadata.version("peft")) < Version("0.22"):
        with pytest.raises(InvalidInput, match="^config.train_text_encoder: not available"):
            add_lora(components, config)
        return
    parameters = add_lora(components, config)
    assert any(p is q for p in parameters for q in components.text_encoder.parameters())
    assert all(p.dtype == torch.float32 for p in parameters)


def test_bad_settings_are_refused_by_field(model_dir):
    from pydantic import ValidationError

    from workers.trainer.models import load_components

    with pytest.raises(InvalidInput, match="config.mixed_precision: 'fp16' needs a CUDA device"):
        load_components(str(model_dir), TrainingConfig(mixed_precision="fp16"), "cpu")
    with pytest.raises(ValidationError, match="rank\n  Input should be greater than or equal to 1"):
        TrainingConfig(rank=0)
    with pytest.raises(ValidationError, match="resolution\n  Input should be a multiple of 8"):
        TrainingConfig(resolution=100)
    with pytest.raises(ValidationError, match="instance_prompt is required when mode is 'dreambooth'"):
        TrainingConfig(mode="dreambooth")


async def test_dreambooth_with_prior_preservation(store, model_dir, model_thread, tmp_path):
    examples = write_logos(tmp_path, 3)
    run = plan(
        "dream",
        model_dir,
        examples,
        mode="dreambooth",
        instance_prompt="a sks logo",
        class_prompt="a logo",
        num_class_images=2,
        max_steps=2,
        checkpoint_every=10,
    )
    assert {e.caption for e in run.train} != {"a sks logo"}  # the service applies the instance prompt
    from workers.trainer.data import with_instance_prompt

    run.train = with_instance_prompt(run.train, run.config)
    outcome = await model_thread.run(execute, run, StoreIO(store))
    assert outcome.metrics["steps"] == 2 and len(outcome.losses) == 2


def test_loss_curve_artifacts():
    losses = [1.0 - i / 100 for i in range(40)]
    heldout = [{"step": 20, "loss": 0.9}, {"step": 40, "loss": 0.8}]
    assert json.loads(artifacts.loss_curve_json(losses, heldout))["steps"][-1] == 40
    png = artifacts.loss_curve_png(losses, heldout, "run x")
    assert Image.open(io.BytesIO(png)).size == (700, 400)


def test_validation_grid_shows_its_whole_title_however_few_images():
    from workers.trainer.evaluation import grid_png

    title = f"run {'ae7ce9d65f0a41c2a49fb7b8bbf80330'} step 4/4  held-out loss 1.1000"
    png = grid_png([Image.new("RGB", (32, 32), "orange")], ["a logo of a fox"], title)
    grid = Image.open(io.BytesIO(png)).convert("RGB")
    assert grid.width == 160  # one image's cell: the title wraps rather than widening the grid
    ink = [(x, y) for y in range(grid.height) for x in range(grid.width) if max(grid.getpixel((x, y))) < 128]
    assert max(x for x, _ in ink) < grid.width - 3, "the title runs to the edge"
    orange = [(x, y) for y in range(grid.height) for x in range(grid.width) if grid.getpixel((x, y)) == (255, 165, 0)]
    assert len(orange) == 32 * 32, "the image is pasted whole"
    title_rows = {y for _, y in ink if y < min(y for _, y in orange)}
    assert max(title_rows) - min(title_rows) > 14, "the title is on more than one line"
