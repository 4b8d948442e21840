"""Synthetic data for the demo project "Demo catchments": five gauged catchments, 1999-2023.

Everything is generated in memory from a seeded `numpy.random.Generator` (no downloads, no files read), so the
same seed always yields identical frames. Each station runs its own simple conceptual rainfall-runoff model:

- air temperature: seasonal sinusoid (colder with elevation, slight warming trend) plus AR(1) anomalies that are
  partly shared across the region;
- precipitation: a seasonal two-state (wet/dry) Markov chain, regionally correlated, with gamma-distributed
  amounts (heavier in summer);
- snow: precipitation below 0 C accumulates, melting with a degree-day factor above 0 C;
- evapotranspiration: Hamon potential ET (temperature and day length), reduced when the soil is dry;
- runoff: an HBV-like soil-moisture bucket whose recharge feeds a fast and a slow (baseflow) linear reservoir;
  discharge Q [m3/s] = (fast + slow outflow) [mm/day] * area_km2 / 86.4.

Frames (see `demo_frames`, whose keys become the data source names):

- "Daily hydro-meteorology" (`daily_hydrometeo`): long format, one row per station per day, 5 x 9131 = 45,655
  rows; columns date (datetime64, tz-naive), station_id, precip_mm, air_temp_c, flow. Sorted by station, date.
- "Water quality samples" (`water_quality`): irregular grab samples, roughly monthly on working days with time of
  day, some weeks with 2-4 samples, some months skipped and 3-5 station-years (in total) without any sample.
  Fecal coliforms rise with the precipitation of the two previous days, dissolved oxygen falls as water warms,
  water temperature is a damped, lagged air temperature, turbidity rises and conductivity/pH fall with flow.
- "Station attributes" (`station_attributes`): one row per station (area, slope, drainage density, mean
  elevation, coordinates).

Deliberate data-quality traps (what users of the demo should find and fix):

- **Units**: `flow` is in m3/s for every station except **ST04, which reports in L/s** (values x1000).
- **Missing stretches in flow**: 3-6 gaps per station, each 5-60 consecutive days (NaN), never touching each other.
- **Missing stretches in precip_mm and air_temp_c**: 1-3 gaps each per station, each 2-20 consecutive days,
  placed independently of each other and of the flow gaps.
- **Negative glitches in flow**: 3-8 isolated single-day negative values per station (a fraction of the true flow
  with the sign flipped), never on a gap day and never on consecutive days.
- **Noise and rounding**: flow carries multiplicative (partly autocorrelated) measurement noise; loggers round
  flow to 3 decimals, precipitation and temperatures to 1 decimal.
- **Water quality gaps**: every parameter column has 2-8 % missing values (independently per column).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

START = "1999-01-01"
END = "2023-12-31"

DAILY_NAME = "Daily hydro-meteorology"
QUALITY_NAME = "Water quality samples"
ATTRIBUTES_NAME = "Station attributes"

LPS_STATION = "ST04"  # the station that reports flow in L/s instead of m3/s

FLOW_GAPS = (3, 6)  # gaps per station (inclusive)
FLOW_GAP_DAYS = (5, 60)  # length of one gap in days (inclusive)
MET_GAPS = (1, 3)  # gaps per station in precip_mm and, independently, in air_temp_c
MET_GAP_DAYS = (2, 20)
NEGATIVE_GLITCHES = (3, 8)  # isolated single-day negative flow values per station
EMPTY_STATION_YEARS = (3, 5)  # station-years without any water-quality sample (over all stations)
QUALITY_MISSING_FRACTION = (0.02, 0.08)  # per water-quality parameter column

# Static description plus model parameters of each catchment. Names and places are fictitious.
# t_mean_c / t_amp_c: annual mean and half-range of air temperature; p01 / p11: probability of a wet day after a
# dry / wet day; rain_shape / rain_scale_mm: gamma amounts on wet days; ddf: degree-day factor (mm/C/day);
# fc_mm / beta / lp: soil bucket (capacity, recharge shape, ET reduction threshold); fast_frac: share of the
# recharge routed to the fast reservoir; k_fast / k_slow: reservoir outflow coefficients (1/day); the wq_* values
# are the station baselines of the water-quality parameters.
STATIONS: list[dict] = [
    {
        "station_id": "ST01",
        "name": "River Orran at Balnacraig",
        "area_km2": 318.4,
        "mean_slope_pct": 8.5,
        "drainage_density_km_km2": 1.62,
        "elevation_m": 310.0,
        "latitude": 56.921,
        "longitude": -2.853,
        "t_mean_c": 7.2,
        "t_amp_c": 5.8,
        "p01": 0.36,
        "p11": 0.70,
        "rain_shape": 0.75,
        "rain_scale_mm": 5.6,
        "ddf": 3.0,
        "fc_mm": 180.0,
        "beta": 2.0,
        "lp": 0.7,
        "fast_frac": 0.45,
        "k_fast": 0.30,
        "k_slow": 0.030,
        "wq_log10_fc": 2.2,
        "wq_ph": 7.4,
        "wq_cond": 260.0,
        "wq_turb": 3.5,
        "wq_do_sat": 96.0,
    },
    {
        "station_id": "ST02",
        "name": "Allt Dubh at Glenbeg",
        "area_km2": 42.5,
        "mean_slope_pct": 21.4,
        "drainage_density_km_km2": 2.41,
        "elevation_m": 690.0,
        "latitude": 57.083,
        "longitude": -3.617,
        "t_mean_c": 5.0,
        "t_amp_c": 6.0,
        "p01": 0.45,
        "p11": 0.76,
        "rain_shape": 0.8,
        "rain_scale_mm": 7.5,
        "ddf": 3.5,
        "fc_mm": 120.0,
        "beta": 1.6,
        "lp": 0.6,
        "fast_frac": 0.65,
        "k_fast": 0.45,
        "k_slow": 0.045,
        "wq_log10_fc": 1.6,
        "wq_ph": 6.6,
        "wq_cond": 70.0,
        "wq_turb": 1.5,
        "wq_do_sat": 99.0,
    },
    {
        "station_id": "ST03",
        "name": "Kinnaird Water at Bridgend",
        "area_km2": 611.8,
        "mean_slope_pct": 4.2,
        "drainage_density_km_km2": 1.08,
        "elevation_m": 180.0,
        "latitude": 56.624,
        "longitude": -2.712,
        "t_mean_c": 8.4,
        "t_amp_c": 6.2,
        "p01": 0.32,
        "p11": 0.64,
        "rain_shape": 0.7,
        "rain_scale_mm": 5.0,
        "ddf": 2.8,
        "fc_mm": 240.0,
        "beta": 2.4,
        "lp": 0.75,
        "fast_frac": 0.25,
        "k_fast": 0.22,
        "k_slow": 0.015,
        "wq_log10_fc": 2.7,
        "wq_ph": 7.9,
        "wq_cond": 520.0,
        "wq_turb": 6.0,
        "wq_do_sat": 88.0,
    },
    {
        "station_id": "ST04",
        "name": "Burn of Tullo at Mill of Aird",
        "area_km2": 127.9,
        "mean_slope_pct": 11.8,
        "drainage_density_km_km2": 1.87,
        "elevation_m": 420.0,
        "latitude": 56.842,
        "longitude": -3.208,
        "t_mean_c": 6.5,
        "t_amp_c": 5.9,
        "p01": 0.38,
        "p11": 0.71,
        "rain_shape": 0.75,
        "rain_scale_mm": 6.2,
        "ddf": 3.2,
        "fc_mm": 160.0,
        "beta": 2.0,
        "lp": 0.7,
        "fast_frac": 0.5,
        "k_fast": 0.35,
        "k_slow": 0.030,
        "wq_log10_fc": 2.4,
        "wq_ph": 7.1,
        "wq_cond": 180.0,
        "wq_turb": 2.8,
        "wq_do_sat": 94.0,
    },
    {
        "station_id": "ST05",
        "name": "Water of Corrie Ban at Inverban",
        "area_km2": 86.3,
        "mean_slope_pct": 27.5,
        "drainage_density_km_km2": 2.78,
        "elevation_m": 810.0,
        "latitude": 57.018,
        "longitude": -3.884,
        "t_mean_c": 3.6,
        "t_amp_c": 6.3,
        "p01": 0.47,
        "p11": 0.78,
        "rain_shape": 0.8,
        "rain_scale_mm": 8.0,
        "ddf": 3.8,
        "fc_mm": 110.0,
        "beta": 1.5,
        "lp": 0.6,
        "fast_frac": 0.6,
        "k_fast": 0.40,
        "k_slow": 0.040,
        "wq_log10_fc": 1.3,
        "wq_ph": 6.4,
        "wq_cond": 45.0,
        "wq_turb": 1.2,
        "wq_do_sat": 100.0,
    },
]

ATTRIBUTE_COLUMNS = [
    "station_id",
    "name",
    "area_km2",
    "mean_slope_pct",
    "drainage_density_km_km2",
    "elevation_m",
    "latitude",
    "longitude",
]

T_SNOW_C = 0.0  # precipitation falls as snow below this air temperature
T_MELT_C = 0.0  # snow melts above this air temperature
SPIN_UP_DAYS = 730  # model states are warmed up on the first two years before recording
WARMING_C_PER_YEAR = 0.03
TWO_PI = 2.0 * math.pi


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator per (seed, stream) so that one part never shifts the randoms of another."""
    return np.random.default_rng([int(seed), *stream])


def _ar1(eps: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) series x[t] = phi * x[t-1] + eps[t] (plain floats: fast enough for ~9,000 steps)."""
    out = [0.0] * len(eps)
    x = 0.0
    for i, e in enumerate(eps.tolist()):
        x = phi * x + e
        out[i] = x
    return np.asarray(out)


_erf = np.frompyfunc(math.erf, 1, 1)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0)).astype(float))


def _hamon_pet(temp_c: np.ndarray, doy: np.ndarray, latitude: float) -> np.ndarray:
    """Hamon potential evapotranspiration in mm/day from air temperature and astronomical day length."""
    decl = 0.4093 * np.sin(TWO_PI * doy / 365.0 - 1.405)
    cos_ws = np.clip(-math.tan(math.radians(latitude)) * np.tan(decl), -1.0, 1.0)
    daylength_h = 24.0 / math.pi * np.arccos(cos_ws)
    e_sat_hpa = 6.108 * np.exp(17.27 * temp_c / (temp_c + 237.3))
    rho_sat = 216.7 * e_sat_hpa / (temp_c + 273.3)  # saturated vapour density, g/m3
    return 1.2 * 0.1651 * (daylength_h / 12.0) * rho_sat


def _precipitation(
    station: dict, doy: np.ndarray, u_occurrence: np.ndarray, amounts: np.ndarray
) -> np.ndarray:
    """Wet/dry Markov chain with seasonal transition probabilities (wetter winters) and gamma amounts."""
    season = np.cos(TWO_PI * (doy - 15.0) / 365.25)  # +1 mid-January, -1 mid-July
    p01 = np.clip(station["p01"] * (1.0 + 0.20 * season), 0.01, 0.99).tolist()
    p11 = np.clip(station["p11"] * (1.0 + 0.08 * season), 0.01, 0.99).tolist()
    u = u_occurrence.tolist()
    wet_day = [False] * len(u)
    wet = False
    for i in range(len(u)):
        wet = u[i] < (p11[i] if wet else p01[i])
        wet_day[i] = wet
    return np.where(np.asarray(wet_day), amounts, 0.0)


def _run_station(
    station: dict, precip: np.ndarray, temp: np.ndarray, pet: np.ndarray
) -> dict[str, np.ndarray]:
    """Snow, soil bucket and two linear reservoirs; returns runoff (mm/day) and a lagged water temperature."""
    fc, beta, lp = station["fc_mm"], station["beta"], station["lp"]
    ddf, fast_frac = station["ddf"], station["fast_frac"]
    k_fast, k_slow = station["k_fast"], station["k_slow"]
    p_list, t_list, e_list = precip.tolist(), temp.tolist(), pet.tolist()
    n = len(p_list)
    runoff = [0.0] * n
    water_temp = [0.0] * n
    snow, soil, fast, slow = 0.0, 0.6 * fc, 0.0, 0.0
    t_water = station["t_mean_c"]
    order = [*range(min(SPIN_UP_DAYS, n)), *range(n)]
    spin = len(order) - n
    for step, d in enumerate(order):
        p, t = p_list[d], t_list[d]
        if t < T_SNOW_C:
            snow += p
            liquid = 0.0
        else:
            liquid = p
        if t > T_MELT_C and snow > 0.0:
            melt = min(snow, ddf * (t - T_MELT_C))
            snow -= melt
            liquid += melt
        recharge = liquid * (soil / fc) ** beta
        soil += liquid - recharge
        if soil > fc:
            recharge += soil - fc
            soil = fc
        aet = min(soil, e_list[d] * min(1.0, soil / (lp * fc)))
        soil -= aet
        fast += fast_frac * recharge
        slow += (1.0 - fast_frac) * recharge
        q_fast = k_fast * fast
        q_slow = k_slow * slow
        fast -= q_fast
        slow -= q_slow
        t_water += 0.15 * (t - t_water)
        if step >= spin:
            runoff[d] = q_fast + q_slow
            water_temp[d] = t_water
    return {"runoff_mm": np.asarray(runoff), "water_temp_c": np.asarray(water_temp)}


def _gap_mask(
    rng: np.random.Generator, n: int, count: tuple[int, int], length: tuple[int, int]
) -> np.ndarray:
    """Separate stretches of missing days: one gap inside each of `k` equal segments, never touching."""
    mask = np.zeros(n, dtype=bool)
    k = int(rng.integers(count[0], count[1] + 1))
    segment = n // k
    for i in range(k):
        size = int(rng.integers(length[0], length[1] + 1))
        start = i * segment + int(rng.integers(1, segment - size - 1))
        mask[start : start + size] = True
    return mask


def _glitch_days(rng: np.random.Generator, valid: np.ndarray) -> np.ndarray:
    """Isolated days (not on a gap, never adjacent to each other) for negative sensor glitches."""
    k = int(rng.integers(NEGATIVE_GLITCHES[0], NEGATIVE_GLITCHES[1] + 1))
    chosen: list[int] = []
    for day in rng.permutation(np.flatnonzero(valid)).tolist():
        if all(abs(day - c) > 1 for c in chosen):
            chosen.append(day)
            if len(chosen) == k:
                break
    return np.asarray(sorted(chosen), dtype=int)


@lru_cache(maxsize=4)
def _simulate(seed: int) -> dict:
    """The noise-free model run of every station (cached: both public frames derive from it)."""
    dates = pd.date_range(START, END, freq="D")
    n = len(dates)
    doy = dates.dayofyear.to_numpy().astype(float)
    years = (dates - dates[0]).days.to_numpy() / 365.25
    regional = _rng(seed, 0)
    temp_anomaly = _ar1(regional.normal(0.0, 1.1, n), 0.8)  # stationary sd ~1.8 C
    occurrence_z = regional.standard_normal(n)
    storm_factor = np.exp(regional.normal(-0.08, 0.4, n))  # regional intensity, mean ~1
    out: dict = {"dates": dates, "doy": doy, "stations": []}
    for index, station in enumerate(STATIONS):
        rng = _rng(seed, 1, index)
        season = -np.cos(TWO_PI * (doy - 20.0) / 365.25)  # coldest around 20 January
        local = _ar1(rng.normal(0.0, 0.6, n), 0.6)
        temp = (
            station["t_mean_c"]
            + WARMING_C_PER_YEAR * (years - years[-1] / 2.0)
            + station["t_amp_c"] * season
            + temp_anomaly
            + local
        )
        u_occurrence = _normal_cdf(math.sqrt(0.7) * occurrence_z + math.sqrt(0.3) * rng.standard_normal(n))
        summer = 1.0 + 0.3 * np.cos(TWO_PI * (doy - 200.0) / 365.25)
        amounts = 0.1 + rng.gamma(station["rain_shape"], station["rain_scale_mm"], n) * summer * storm_factor
        precip = _precipitation(station, doy, u_occurrence, amounts)
        pet = _hamon_pet(temp, doy, station["latitude"])
        model = _run_station(station, precip, temp, pet)
        arrays = {"precip_mm": precip, "air_temp_c": temp, "pet_mm": pet, **model}
        for array in arrays.values():
            array.flags.writeable = False  # shared through the cache: callers copy before changing
        out["stations"].append(arrays)
    return out


def daily_hydrometeo(seed: int = 42) -> pd.DataFrame:
    """Daily precipitation, air temperature and discharge per station, with the documented traps."""
    sim = _simulate(int(seed))
    dates = sim["dates"]
    n = len(dates)
    frames = []
    for index, (station, run) in enumerate(zip(STATIONS, sim["stations"], strict=True)):
        rng = _rng(seed, 2, index)
        area = station["area_km2"]
        log_noise = _ar1(rng.normal(0.0, 0.03, n), 0.9) + rng.normal(0.0, 0.02, n)
        flow = run["runoff_mm"] * area / 86.4 * np.exp(log_noise)
        if station["station_id"] == LPS_STATION:
            flow = flow * 1000.0
        flow_gaps = _gap_mask(rng, n, FLOW_GAPS, FLOW_GAP_DAYS)
        glitches = _glitch_days(rng, ~flow_gaps)
        flow[glitches] = -np.maximum(flow[glitches] * rng.uniform(0.05, 1.0, len(glitches)), 0.001)
        flow[flow_gaps] = np.nan
        precip = run["precip_mm"].copy()
        precip[_gap_mask(rng, n, MET_GAPS, MET_GAP_DAYS)] = np.nan
        temp = run["air_temp_c"].copy()
        temp[_gap_mask(rng, n, MET_GAPS, MET_GAP_DAYS)] = np.nan
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "station_id": station["station_id"],
                    "precip_mm": np.round(precip, 1),
                    "air_temp_c": np.round(temp, 1),
                    "flow": np.round(flow, 3),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _sample_days(rng: np.random.Generator, dates: pd.DatetimeIndex, empty_years: set[int]) -> np.ndarray:
    """Day indices of the grab samples of one station: ~monthly on working days, some bursts, some gaps."""
    first = dates[0]
    n = len(dates)
    days: set[int] = set()
    for year in range(dates[0].year, dates[-1].year + 1):
        if year in empty_years:
            continue
        for month in range(1, 13):
            if rng.random() < 0.06:  # the routine sample of this month was skipped
                continue
            month_start = pd.Timestamp(year=year, month=month, day=1)
            day = min(max(round(float(rng.normal(14.0, 5.0))), 0), month_start.days_in_month - 1)
            base = (month_start - first).days + day
            picks = [base]
            if rng.random() < 0.12:  # event sampling: several samples within the same week
                picks += (base + rng.choice(np.arange(1, 6), int(rng.integers(1, 4)), replace=False)).tolist()
            for pick in picks:
                weekday = (first + pd.Timedelta(days=pick)).weekday()
                pick += {5: 2, 6: 1}.get(weekday, 0)  # the lab does not work on weekends
                if 0 <= pick < n:
                    days.add(pick)
    return np.asarray(sorted(days), dtype=int)


def water_quality(seed: int = 42) -> pd.DataFrame:
    """Irregular water-quality grab samples, driven by the same model run as `daily_hydrometeo(seed)`."""
    sim = _simulate(int(seed))
    dates = sim["dates"]
    years = list(range(dates[0].year, dates[-1].year + 1))
    picker = _rng(seed, 3)
    n_empty = int(picker.integers(EMPTY_STATION_YEARS[0], EMPTY_STATION_YEARS[1] + 1))
    empty = picker.choice(len(STATIONS) * len(years), n_empty, replace=False)
    frames = []
    for index, (station, run) in enumerate(zip(STATIONS, sim["stations"], strict=True)):
        rng = _rng(seed, 4, index)
        empty_years = {years[int(e) % len(years)] for e in empty if int(e) // len(years) == index}
        days = _sample_days(rng, dates, empty_years)
        m = len(days)
        precip = run["precip_mm"]
        prev2 = precip[np.maximum(days - 1, 0)] + precip[np.maximum(days - 2, 0)]
        runoff = run["runoff_mm"]
        rel_flow = runoff[days] / np.median(runoff)
        summer = np.cos(TWO_PI * (sim["doy"][days] - 200.0) / 365.25)
        log10_fc = (
            station["wq_log10_fc"] + 0.9 * np.log10(1.0 + prev2) + 0.25 * summer + rng.normal(0.0, 0.35, m)
        )
        coliforms = np.maximum(np.round(10.0**log10_fc), 1.0)
        water_temp = np.clip(1.5 + 0.95 * run["water_temp_c"][days] + rng.normal(0.0, 0.6, m), 0.0, 25.0)
        do_sat = 14.62 - 0.3898 * water_temp + 0.006969 * water_temp**2 - 0.00005896 * water_temp**3
        oxygen = np.clip(do_sat * (station["wq_do_sat"] + rng.normal(0.0, 4.0, m)) / 100.0, 3.0, 15.0)
        ph = np.clip(station["wq_ph"] - 0.25 * np.log10(rel_flow) + rng.normal(0.0, 0.15, m), 5.5, 9.2)
        conductivity = station["wq_cond"] * rel_flow**-0.15 * np.exp(rng.normal(0.0, 0.08, m))
        turbidity = np.maximum(station["wq_turb"] * rel_flow**0.8 * np.exp(rng.normal(0.0, 0.35, m)), 0.1)
        minutes = rng.integers(8 * 60, 15 * 60 + 1, m)
        frames.append(
            pd.DataFrame(
                {
                    "sample_time": dates[days] + pd.to_timedelta(minutes, unit="min"),
                    "station_id": station["station_id"],
                    "fecal_coliforms_cfu_100ml": coliforms,
                    "ph": np.round(ph, 2),
                    "conductivity_us_cm": np.round(conductivity, 0),
                    "dissolved_oxygen_mg_l": np.round(oxygen, 2),
                    "water_temp_c": np.round(water_temp, 1),
                    "turbidity_ntu": np.round(turbidity, 1),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    holes = _rng(seed, 5)
    for column in frame.columns[2:]:
        fraction = holes.uniform(*QUALITY_MISSING_FRACTION)
        rows = holes.choice(len(frame), int(round(fraction * len(frame))), replace=False)
        frame.loc[rows, column] = np.nan
    return frame


def station_attributes() -> pd.DataFrame:
    """One row per station: catchment descriptors and gauge coordinates."""
    return pd.DataFrame([{key: station[key] for key in ATTRIBUTE_COLUMNS} for station in STATIONS])


def demo_frames(seed: int = 42) -> dict[str, pd.DataFrame]:
    """The three data sources of the demo project, keyed by their data source names."""
    return {
        DAILY_NAME: daily_hydrometeo(seed),
        QUALITY_NAME: water_quality(seed),
        ATTRIBUTES_NAME: station_attributes(),
    }
