"""Energy readers: RAPL from (mock) sysfs with wrap-around, nvidia-smi parsing, power integration, estimates."""

from __future__ import annotations

import time

import pytest

from lessonlib.evaluation import cost, energy


def _domain(root, name, uj, max_range=None):
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "energy_uj").write_text(f"{uj}\n")
    if max_range is not None:
        (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    return d


def test_rapl_domains_are_top_level_packages_only(tmp_path):
    _domain(tmp_path, "intel-rapl:0", 10)
    _domain(tmp_path, "intel-rapl:0:0", 5)  # core sub-domain: part of package 0
    _domain(tmp_path, "intel-rapl:1", 20)
    (tmp_path / "intel-rapl:2").mkdir()  # no counter file
    assert [d.name for d in energy.rapl_domains(tmp_path)] == ["intel-rapl:0", "intel-rapl:1"]
    assert energy.read_rapl(energy.rapl_domains(tmp_path)) == [10, 20]
    assert energy.rapl_domains(tmp_path / "absent") == []


def test_unreadable_counter_counts_as_absent(tmp_path):
    d = _domain(tmp_path, "intel-rapl:0", 10)
    (d / "energy_uj").write_text("permission denied")  # what a parse of a root-only file amounts to
    assert energy.rapl_domains(tmp_path) == []
    assert "not readable" in energy.energy_sources(tmp_path)["rapl"]


def test_counter_delta_wraps_around():
    assert energy.counter_delta(100, 400, 1000) == 300
    assert energy.counter_delta(900, 100, 1000) == 200  # 1000 - 900 + 100
    assert energy.counter_delta(5, 5, None) == 0
    with pytest.raises(ValueError, match="max_range"):
        energy.counter_delta(900, 100, None)


def test_meter_adds_packages_and_handles_a_wrap(tmp_path):
    _domain(tmp_path, "intel-rapl:0", 1_000, max_range=262_143_328_850)
    _domain(tmp_path, "intel-rapl:0:0", 1, max_range=10)
    _domain(tmp_path, "intel-rapl:1", 262_143_000_000, max_range=262_143_328_850)
    with energy.EnergyMeter(root=tmp_path) as m:
        _domain(tmp_path, "intel-rapl:0", 2_501_000)  # +2.5 J
        _domain(tmp_path, "intel-rapl:0:0", 9)  # sub-domain: ignored
        _domain(tmp_path, "intel-rapl:1", 671_150)  # wrapped: 328_850 + 671_150 = 1.0 J
    assert m.source == "rapl"
    assert m.joules == pytest.approx(3.5)
    assert m.gpu_source == "none" and m.total_joules == pytest.approx(3.5)


def test_meter_falls_back_to_cpu_time(tmp_path):
    with energy.EnergyMeter(root=tmp_path / "absent", watts_per_core=4.0) as m:
        sum(i * i for i in range(200_000))
    assert m.source == "estimate" and m.cpu_seconds > 0
    assert m.joules == pytest.approx(4.0 * m.cpu_seconds)
    assert 0 < m.utilisation(cores=1) <= 1.5  # CPU seconds over wall seconds, some slack for timer granularity


def test_cost_module_re_exports_the_same_meter():
    assert cost.EnergyMeter is energy.EnergyMeter


def test_parse_power_draw_reads_nvidia_smi_csv():
    assert energy.parse_power_draw("65.32\n 70.10 \n") == [65.32, 70.1]
    assert energy.parse_power_draw("120.5 W\n") == [120.5]
    nan = energy.parse_power_draw("[N/A]\n")
    assert len(nan) == 1 and nan[0] != nan[0]
    assert energy.parse_power_draw("") == []


def test_integrate_power_matches_the_trapezoid_rule():
    assert energy.integrate_power([0.0, 1.0, 3.0], [10.0, 20.0, 20.0]) == pytest.approx(15.0 + 40.0)
    assert energy.integrate_power([0.0, 2.0], [50.0, 50.0]) == pytest.approx(100.0)  # constant power: P x t
    assert energy.integrate_power([1.0], [99.0]) == 0.0
    with pytest.raises(ValueError, match="decrease"):
        energy.integrate_power([1.0, 0.0], [1.0, 1.0])


def test_gpu_meter_without_a_gpu_reports_none(tmp_path, monkeypatch):
    monkeypatch.setattr(energy, "pynvml", None)
    monkeypatch.setattr(energy.shutil, "which", lambda name: None)
    with energy.EnergyMeter(root=tmp_path, gpu=True) as m:
        pass
    assert m.gpu_source == "none" and m.gpu_joules == 0.0
    src = energy.energy_sources(tmp_path)
    assert set(src) == {"rapl", "nvml", "nvidia-smi", "cpu time"}
    assert src["nvml"].startswith("no") and src["nvidia-smi"].startswith("no") and src["rapl"].startswith("no")


def test_gpu_meter_integrates_sampled_nvidia_smi_power(tmp_path, monkeypatch):
    monkeypatch.setattr(energy, "pynvml", None)
    monkeypatch.setattr(energy.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(energy, "nvidia_smi_power", lambda binary="nvidia-smi": [100.0, 50.0])  # two GPUs
    with energy.EnergyMeter(root=tmp_path, gpu=True, sample_interval=0.01) as m:
        time.sleep(0.2)
    assert m.gpu_source == "nvidia-smi"
    assert m.gpu_joules == pytest.approx(150.0 * m.seconds, rel=0.3)  # constant 150 W over the block


def test_tdp_and_carbon_formulas():
    assert energy.tdp_energy(205.0, 3600.0, 0.5) == pytest.approx(369_000.0)
    assert energy.carbon_grams(3.6e6, 400.0) == pytest.approx(400.0)
    assert energy.carbon_grams(3.6e6, 400.0, pue=1.5) == pytest.approx(600.0)
    with pytest.raises(ValueError, match="utilisation"):
        energy.tdp_energy(1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="pue"):
        energy.carbon_grams(1.0, pue=0.5)
