"""Energy and carbon of a block of code: what the machine measures, and what must be estimated.

Three sources, best first, and the estimate every one of them ends in (Strubell, Ganesh &
McCallum 2019; Henderson et al. 2020, "Towards the systematic reporting of the energy and carbon
footprints of machine learning"; Lacoste et al. 2019, "Quantifying the carbon emissions of machine
learning", whose calculator is the TDP formula below):

* **Intel RAPL** (Running Average Power Limit): cumulative energy counters in microjoules at
  ``/sys/class/powercap/intel-rapl:N/energy_uj``, one per CPU package (sub-domains
  ``intel-rapl:N:M`` = core, uncore, DRAM are parts of it and not added again). A counter wraps
  to 0 after ``max_energy_range_uj``: ``delta = end - start`` (+ ``max_energy_range_uj`` when
  negative). It measures the whole package, other processes included.
* **NVIDIA GPUs**: NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ
  since the driver loaded, Volta and newer) via ``pynvml`` where it imports; otherwise
  ``nvidia-smi --query-gpu=power.draw`` sampled by a thread and integrated over time
  (trapezoid rule: ``E = sum_i (P_i + P_{i+1}) / 2 * (t_{i+1} - t_i)``).
* **Process CPU time** (``resource.getrusage``, user + system seconds of all threads) x a *stated*
  power per busy core: ``E = cpu_seconds * watts_per_core``. The default 7.3 W/core is a 205 W
  TDP, 28-core Xeon Platinum 8280 at full load; DRAM, GPU, cooling and idle power are not counted.

The TDP estimate when nothing is measured: ``E = TDP * t * utilisation`` (``tdp_energy``);
carbon: ``g CO2 = E / 3.6e6 * grams_co2_per_kwh`` (``carbon_grams``), with the grid's carbon
intensity a stated input (about 400-480 g/kWh world average; 20-50 in hydro/nuclear grids, 700+
in coal-heavy ones). Notebook 21 (section 3) measures with ``EnergyMeter`` and prints which
source it used.

>>> with EnergyMeter() as m:
...     _ = sum(i * i for i in range(10_000))
>>> m.source in ("rapl", "estimate")
True
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import pynvml
except ImportError:  # optional: NVML bindings (pip install nvidia-ml-py)
    pynvml = None

RAPL_ROOT = "/sys/class/powercap"
WATTS_PER_CORE = 205.0 / 28  # stated: Xeon Platinum 8280 (205 W TDP, 28 cores) at full load


# ------------------------------------------------------------------------------ RAPL
def rapl_domains(root: str | os.PathLike = RAPL_ROOT) -> list[Path]:
    """Readable top-level RAPL package domains under ``root`` (``intel-rapl:N``, not ``intel-rapl:N:M``).

    An unreadable counter (recent kernels make ``energy_uj`` root-only) counts as absent.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.glob("intel-rapl:*")):
        if d.name.count(":") == 1 and (d / "energy_uj").is_file():
            try:
                int((d / "energy_uj").read_text())
            except (OSError, ValueError):  # unreadable (permissions): treat as absent
                continue
            out.append(d)
    return out


def read_rapl(domains: list[Path]) -> list[int]:
    """The counters (microjoules) of ``domains`` now."""
    return [int((d / "energy_uj").read_text()) for d in domains]


def rapl_max_range(domain: Path) -> int | None:
    """``max_energy_range_uj`` of a domain (where its counter wraps), None when unreadable."""
    try:
        return int((domain / "max_energy_range_uj").read_text())
    except (OSError, ValueError):
        return None


def counter_delta(start: int, end: int, max_range: int | None) -> int:
    """``end - start`` of a counter that wraps to 0 after ``max_range``: adds ``max_range`` when negative.

    Assumes at most one wrap between the readings (a package at 200 W wraps a 2^32 uJ counter every
    ~6 hours, the usual 262143328850 uJ range every ~15 days).

    >>> counter_delta(900, 100, 1000)
    200
    """
    delta = end - start
    if delta < 0:
        if not max_range:
            raise ValueError(f"counter_delta(start={start}, end={end}): counter went back and max_range is unknown")
        delta += max_range
    return delta


# ------------------------------------------------------------------------------ CPU time
def process_cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------------------------ NVIDIA
def parse_power_draw(text: str) -> list[float]:
    """Watts per GPU from ``nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits`` output.

    One line per GPU; ``[N/A]`` / ``[Not Supported]`` lines become NaN.

    >>> parse_power_draw("65.32\\n70.10\\n")
    [65.32, 70.1]
    """
    out = []
    for line in text.strip().splitlines():
        value = line.strip().removesuffix("W").strip()
        try:
            out.append(float(value))
        except ValueError:
            out.append(float("nan"))
    return out


def integrate_power(times: list[float] | np.ndarray, watts: list[float] | np.ndarray) -> float:
    """Joules from power samples by the trapezoid rule: sum_i (P_i + P_{i+1}) / 2 * (t_{i+1} - t_i).

    >>> integrate_power([0.0, 1.0, 3.0], [10.0, 20.0, 20.0])
    55.0
    """
    t, p = np.asarray(times, dtype=np.float64), np.asarray(watts, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"integrate_power: times {t.shape} and watts {p.shape} must be 1-D of one length")
    if len(t) < 2:
        return 0.0
    if np.any(np.diff(t) < 0):
        raise ValueError("integrate_power: times must not decrease")
    return float(np.sum((p[1:] + p[:-1]) / 2 * np.diff(t)))


def nvidia_smi_power(binary: str = "nvidia-smi") -> list[float] | None:
    """Watts per GPU now from ``nvidia-smi``; None when it is not installed or fails."""
    path = shutil.which(binary)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--query-gpu=power.draw", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    watts = parse_power_draw(out)
    return watts or None


def _nvml_handles() -> list:
    if pynvml is None:
        return []
    try:
        pynvml.nvmlInit()
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError:  # no driver / no GPU
        return []


def _nvml_energy_mj(handles: list) -> list[int] | None:
    try:
        return [int(pynvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in handles]
    except pynvml.NVMLError:  # pre-Volta GPUs have no energy counter
        return None


def energy_sources(root: str | os.PathLike = RAPL_ROOT) -> dict[str, str]:
    """What this machine exposes for energy measurement, one plain sentence per source.

    Keys: ``rapl``, ``nvml``, ``nvidia-smi``, ``cpu time`` (always available).
    """
    root = Path(root)
    doms = rapl_domains(root)
    if doms:
        rapl = f"yes: {len(doms)} package counter(s) under {root}"
    elif root.is_dir() and any(root.glob("intel-rapl:*")):
        rapl = f"present under {root} but not readable by this user (root-only energy_uj): not used"
    else:
        rapl = f"no: {root} does not exist or holds no intel-rapl domain (a VM, a container, or not an Intel/AMD-RAPL CPU)"
    handles = _nvml_handles()
    if pynvml is None:
        nvml = "no: the pynvml module (pip install nvidia-ml-py) is not installed"
    elif not handles:
        nvml = "no: pynvml imports but finds no NVIDIA GPU / driver"
    else:
        nvml = f"yes: {len(handles)} GPU(s)" + ("" if _nvml_energy_mj(handles) is not None else ", but no energy counter (pre-Volta): power sampling only")
    smi = nvidia_smi_power()
    if shutil.which("nvidia-smi") is None:
        smi_line = "no: nvidia-smi is not on PATH"
    elif smi is None:
        smi_line = "nvidia-smi is installed but reported no GPU"
    else:
        smi_line = f"yes: {len(smi)} GPU(s), drawing {', '.join(f'{w:.0f} W' for w in smi)} now"
    cpu = f"yes: resource.getrusage (process CPU seconds) x a stated {WATTS_PER_CORE:.1f} W per busy core"
    return {"rapl": rapl, "nvml": nvml, "nvidia-smi": smi_line, "cpu time": cpu}


class _PowerSampler:
    """Samples ``nvidia-smi`` power every ``interval`` s in a thread; ``joules`` integrates the samples."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.times: list[float] = []
        self.watts: list[float] = []

    def _sample(self) -> None:
        w = nvidia_smi_power()
        if w is not None:
            self.times.append(time.perf_counter())
            self.watts.append(float(np.nansum(w)))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return integrate_power(self.times, self.watts)


# ------------------------------------------------------------------------------ the meter
@dataclass
class EnergyMeter:
    """Energy of the code inside ``with EnergyMeter() as m:``.

    CPU: ``m.joules`` with ``m.source`` = ``"rapl"`` (package counters' difference, wrap-around
    handled, the whole CPU with other processes) or ``"estimate"`` (``watts_per_core`` x this
    process's CPU seconds). GPU (``gpu=True``): ``m.gpu_joules`` with ``m.gpu_source`` = ``"nvml"``
    (the driver's energy counter), ``"nvidia-smi"`` (sampled power, integrated) or ``"none"``
    (no NVIDIA GPU: ``gpu_joules`` stays 0). ``m.total_joules`` adds both.
    """

    root: str | os.PathLike = RAPL_ROOT
    watts_per_core: float = WATTS_PER_CORE
    gpu: bool = False
    sample_interval: float = 0.1
    joules: float = field(default=0.0, init=False)
    gpu_joules: float = field(default=0.0, init=False)
    seconds: float = field(default=0.0, init=False)
    cpu_seconds: float = field(default=0.0, init=False)
    source: str = field(default="", init=False)
    gpu_source: str = field(default="none", init=False)

    def __enter__(self) -> EnergyMeter:
        self._domains = rapl_domains(self.root)
        self.source = "rapl" if self._domains else "estimate"
        self._start_uj = read_rapl(self._domains)
        self._handles, self._start_mj, self._sampler = [], None, None
        if self.gpu:
            self._handles = _nvml_handles()
            self._start_mj = _nvml_energy_mj(self._handles) if self._handles else None
            if self._start_mj is not None:
                self.gpu_source = "nvml"
            elif shutil.which("nvidia-smi") is not None and nvidia_smi_power() is not None:
                self.gpu_source, self._sampler = "nvidia-smi", _PowerSampler(self.sample_interval)
                self._sampler.start()
        self._t0, self._c0 = time.perf_counter(), process_cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0
        self.cpu_seconds = process_cpu_seconds() - self._c0
        if self._domains:
            ends = read_rapl(self._domains)
            self.joules = sum(counter_delta(s, e, rapl_max_range(d))
                              for d, s, e in zip(self._domains, self._start_uj, ends)) / 1e6
        else:
            self.joules = self.cpu_seconds * self.watts_per_core
        if self.gpu_source == "nvml":
            end = _nvml_energy_mj(self._handles) or self._start_mj
            self.gpu_joules = sum(e - s for s, e in zip(self._start_mj, end)) / 1e3
        elif self._sampler is not None:
            self.gpu_joules = self._sampler.stop()

    @property
    def watts(self) -> float:
        """Mean CPU power over the block (joules / seconds)."""
        return self.joules / self.seconds if self.seconds > 0 else 0.0

    @property
    def total_joules(self) -> float:
        """CPU + GPU joules."""
        return self.joules + self.gpu_joules

    def utilisation(self, cores: int | None = None) -> float:
        """Share of ``cores`` (default: the CPUs this process may use) kept busy: cpu_seconds / (seconds x cores)."""
        cores = cores or len(os.sched_getaffinity(0))
        return self.cpu_seconds / (self.seconds * cores) if self.seconds > 0 else 0.0


# ------------------------------------------------------------------------------ estimates
def tdp_energy(tdp_watts: float, seconds: float, utilisation: float = 1.0) -> float:
    """Joules by the TDP formula (Lacoste et al. 2019): E = TDP x t x utilisation.

    >>> tdp_energy(100.0, 10.0, 0.5)
    500.0
    """
    if tdp_watts < 0 or seconds < 0:
        raise ValueError(f"tdp_energy(tdp_watts={tdp_watts}, seconds={seconds}): both must be >= 0")
    if not 0 <= utilisation <= 1:
        raise ValueError(f"tdp_energy(utilisation={utilisation}): expected 0 <= utilisation <= 1")
    return tdp_watts * seconds * utilisation


def carbon_grams(joules: float, grams_co2_per_kwh: float = 400.0, pue: float = 1.0) -> float:
    """Grams of CO2-equivalent: joules / 3.6e6 (kWh) x PUE (data-centre overhead, >= 1) x grid intensity.

    >>> carbon_grams(3.6e6, 400.0)
    400.0
    """
    if joules < 0 or grams_co2_per_kwh < 0:
        raise ValueError(f"carbon_grams(joules={joules}, grams_co2_per_kwh={grams_co2_per_kwh}): must be >= 0")
    if pue < 1:
        raise ValueError(f"carbon_grams(pue={pue}): a power usage effectiveness is >= 1")
    return joules / 3.6e6 * pue * grams_co2_per_kwh
