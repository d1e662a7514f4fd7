"""What a model costs per month and per 1,000 tickets, training and hosting included.

    costs = CostsConfig(tickets_per_month=20_000, gpu_usd_per_hour=2.0)
    ft = model_cost(load_run(Path("runs/x/eval/finetuned")), costs)
    ft.per_1000(costs.tickets_per_month, costs)      # USD per 1,000 tickets at that volume
    break_even(ft, model_cost(gpt4_run, costs), costs)  # tickets/month from which ft is cheaper

Two kinds of model:

- **API models** (a provider registered as ``paid``) cost their tokens: the run's mean prompt
  and completion tokens per ticket times the model's list price (``providers.api.prices``:
  the run's ``costs.api_prices``, else litellm's cost map, else the project's table), whether
  or not the response cache answered. Monthly cost = volume x price per ticket.
- **Local models** (the open model, fine-tuned or not, and the baselines) cost machine hours.
  A ticket takes 1 / throughput seconds, the throughput being 1 / mean latency per ticket as
  the provider measured it (batched: the batch's time shared among its tickets; model loading
  and fitting excluded), on the device it ran on, priced at ``cpu_usd_per_hour`` or
  ``gpu_usd_per_hour``. The machine is paid for ``hosting_hours_per_month`` whatever the load
  (730: always on; 0: only the hours the tickets take), or for the hours the tickets take when
  that is more. Training is paid once, at the measured training time and the price of the
  device it trained on, and spread over ``amortize_months``. Monthly cost = machine hours x
  price + training / amortize_months; a model that gets no tickets costs nothing.

Cost per 1,000 tickets at a volume V is monthly cost / V x 1,000; per 1,000 *correct* tickets
it is that divided by the joint accuracy. The break-even volume with an API model is the
lowest monthly volume from which the local model costs no more than the API.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bizztune.core.errors import ConfigError
from bizztune.eval.runs import EvalRun
from bizztune.providers.api.prices import Price, api_price

HOURS_PER_MONTH = 730.0
"""365 x 24 / 12."""


@dataclass
class CostsConfig:
    """The ``costs:`` section of a run (and the flags of ``bizztune run``)."""

    tickets_per_month: int = 10_000
    """The volume the report's Decision is made for."""
    cpu_usd_per_hour: float = 0.10
    """Price of the CPU machine a local model trains and runs on (a 2-vCPU cloud instance on
    demand is 0.05-0.10 USD/h). Set your own."""
    gpu_usd_per_hour: float = 1.00
    """Price of a GPU machine (one L4/A10G-class cloud GPU on demand: 0.7-1.2 USD/h; an H100:
    2-4 USD/h). Used for models that trained or ran on CUDA. Set your own."""
    hosting_hours_per_month: float = HOURS_PER_MONTH
    """Hours a month a local model's machine is paid for whatever the load: 730 keeps one
    machine always on; 0 pays only the hours the tickets take (batch jobs, serverless, or a
    machine you pay for anyway)."""
    amortize_months: float = 12.0
    """Months the one-off training cost is spread over (how long a fine-tuned model serves
    before it is retrained)."""
    margin_pp: float = 2.0
    """Non-inferiority margin in percentage points: an option counts as accurate as another
    when the lower end of the 95% paired interval of their difference is above -margin."""
    api_prices: dict[str, list[float]] = field(default_factory=dict)
    """Model -> [USD per 1M input tokens, per 1M output tokens]: your negotiated prices, which
    win over litellm's cost map and the project's table."""

    def __post_init__(self) -> None:
        for name in (
            "cpu_usd_per_hour",
            "gpu_usd_per_hour",
            "hosting_hours_per_month",
            "amortize_months",
            "margin_pp",
        ):
            x = getattr(self, name)
            if isinstance(x, bool) or not isinstance(x, int | float) or x < 0:
                raise ConfigError(f"costs.{name} must be a number >= 0, not {x!r}")
        if self.amortize_months <= 0:
            raise ConfigError("costs.amortize_months must be more than 0")
        if self.hosting_hours_per_month > HOURS_PER_MONTH:
            raise ConfigError(f"costs.hosting_hours_per_month is at most {HOURS_PER_MONTH:g}")
        v: Any = self.tickets_per_month
        if isinstance(v, float) and v.is_integer():
            self.tickets_per_month = v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"costs.tickets_per_month must be a whole number, not {v!r}")
        if self.tickets_per_month < 1:
            raise ConfigError("costs.tickets_per_month must be at least 1")
        prices = self.api_prices or {}
        if not isinstance(prices, dict):
            raise ConfigError("costs.api_prices must map a model to [input, output] USD per 1M")
        for model, p in prices.items():
            if (
                not isinstance(p, list | tuple)
                or len(p) != 2
                or not all(isinstance(x, int | float) and x >= 0 for x in p)
            ):
                raise ConfigError(
                    f"costs.api_prices.{model} must be [USD per 1M input tokens, per 1M "
                    f"output tokens], not {p!r}"
                )
        self.api_prices = {str(k): [float(v[0]), float(v[1])] for k, v in prices.items()}

    def rate(self, device: str | None) -> float:
        """USD per hour of the machine behind ``device`` (cuda*: GPU, anything else: CPU)."""
        return self.gpu_usd_per_hour if is_gpu(device) else self.cpu_usd_per_hour


def is_gpu(device: str | None) -> bool:
    return bool(device) and str(device).split(":")[0] in ("cuda", "mps", "xpu")


@dataclass
class ModelCost:
    """One model's cost structure (module docstring)."""

    name: str
    kind: Literal["api", "local"]
    usd_per_ticket: float = 0.0
    """API: list price of a ticket's tokens. Local: compute (hours per ticket x hourly price)."""
    hours_per_ticket: float = 0.0
    """Local: machine hours one ticket takes (1 / throughput / 3600)."""
    usd_per_hour: float = 0.0
    """Local: price of its serving machine."""
    device: str | None = None
    train_hours: float = 0.0
    train_device: str | None = None
    train_usd: float = 0.0
    price: Price | None = None
    """API: the price used, with its source and date."""
    note: str = ""

    def monthly(self, volume: float, costs: CostsConfig) -> float:
        """USD a month at ``volume`` tickets a month."""
        if volume <= 0:
            return 0.0
        if self.kind == "api":
            return volume * self.usd_per_ticket
        hours = max(costs.hosting_hours_per_month, volume * self.hours_per_ticket)
        return hours * self.usd_per_hour + self.train_usd / costs.amortize_months

    def per_1000(self, volume: float, costs: CostsConfig) -> float:
        return self.monthly(volume, costs) / volume * 1000 if volume > 0 else math.nan

    def to_dict(self, costs: CostsConfig) -> dict[str, Any]:
        v = costs.tickets_per_month
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "usd_per_ticket": self.usd_per_ticket,
            "usd_per_1000_at_volume": self.per_1000(v, costs),
            "usd_per_month_at_volume": self.monthly(v, costs),
            "note": self.note,
        }
        if self.kind == "api":
            p = self.price
            out["price"] = (
                {"input": p.input, "output": p.output, "source": p.source, "date": p.date}
                if p
                else None
            )
        else:
            out.update(
                device=self.device,
                usd_per_hour=self.usd_per_hour,
                tickets_per_hour=1 / self.hours_per_ticket if self.hours_per_ticket else None,
                train_hours=self.train_hours,
                train_device=self.train_device,
                train_usd=self.train_usd,
            )
        return out


def break_even(local: ModelCost, api: ModelCost, costs: CostsConfig) -> float | None:
    """The lowest monthly volume from which ``local`` costs no more than ``api``; None when
    the API stays cheaper at every volume (its price per ticket is not above the local
    compute per ticket). Local minus API cost only falls as the volume grows until then, so
    there is one crossing:

    - while the hosted hours cover the load (V <= H / h): (r H + F) / a, if that is <= H / h;
    - else F / (a - r h), when a > r h;

    with a the API's price per ticket, r the machine's hourly price, H the hosted hours, h the
    hours per ticket and F the training cost per month.
    """
    a = api.usd_per_ticket
    if a <= 0:
        return None
    r, h, big_h = local.usd_per_hour, local.hours_per_ticket, costs.hosting_hours_per_month
    fixed = local.train_usd / costs.amortize_months
    cap = big_h / h if h > 0 else math.inf
    hosted = (r * big_h + fixed) / a
    if hosted <= cap:
        return hosted
    if a <= r * h:
        return None
    return fixed / (a - r * h)


# -- from eval runs --------------------------------------------------------------------------------
def is_api(run: EvalRun) -> bool:
    """Whether the run's provider is a paid API (recorded at eval time; a run recorded before
    that: whether it paid anything)."""
    info = run.provider_info
    if "paid" in info:
        return bool(info["paid"])
    return bool(run.usage.get("cost_usd"))


def read_train_summary(run: EvalRun | None, train_dir: Path | None = None) -> dict[str, Any]:
    """The train_summary.json of the adapter a run used (or of ``train_dir``); {} if none."""
    folder = train_dir
    if folder is None and run is not None:
        folder = run.adapter
    path = folder / "train_summary.json" if folder else None
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_cost(
    run: EvalRun,
    costs: CostsConfig,
    name: str | None = None,
    train: dict[str, Any] | None = None,
) -> ModelCost:
    """The cost structure of the model behind an eval run (an EvalRun); ``train``: its
    train_summary.json when it was fine-tuned (read from the run's adapter when None)."""
    name = name or run.name
    recs = list(run.predictions.values())
    n = max(len(recs), 1)
    info = run.provider_info
    if is_api(run):
        model = str(info.get("model") or run.provider_model or "")
        price = api_price(model, info.get("family"), costs.api_prices) if model else None
        if price is not None:
            usd = sum(price.usd(r["prompt_tokens"], r["completion_tokens"]) for r in recs) / n
            note = (
                f"{price.input:g}/{price.output:g} USD per 1M tokens ({price.source}, {price.date})"
            )
        else:
            usd = sum(float(r.get("cost_usd") or 0.0) for r in recs) / n
            note = f"no list price known for {model!r}: the costs the run recorded"
        return ModelCost(name, "api", usd_per_ticket=usd, price=price, note=note)
    device = str(info.get("device") or "cpu")
    lat = [float(r["latency_s"]) for r in recs if float(r.get("latency_s") or 0) > 0]
    seconds = sum(lat) / len(lat) if lat else 0.0
    if not seconds:
        ips = run.usage.get("items_per_s")
        seconds = 1 / ips if ips else 0.0
    rate = costs.rate(device)
    summary = read_train_summary(run) if train is None else train
    train_h = float(summary.get("train_time_s") or 0.0) / 3600
    train_dev = summary.get("device") if summary else None
    train_usd = train_h * costs.rate(train_dev)
    note = f"{device}, {3600 / seconds:,.0f} tickets/h" if seconds else f"{device}"
    if summary:
        note += f"; trained {train_h * 60:.1f} min on {train_dev or 'cpu'}"
    return ModelCost(
        name,
        "local",
        usd_per_ticket=seconds / 3600 * rate,
        hours_per_ticket=seconds / 3600,
        usd_per_hour=rate,
        device=device,
        train_hours=train_h,
        train_device=train_dev,
        train_usd=train_usd,
        note=note,
    )
