// mountcam camera app: the page. Plain JavaScript, no build step; it talks to the HTTP API
// (the same one scripts use, documented at /docs) and to the live stream (WebSocket /api/live:
// per frame a JSON text message, then the JPEG as a binary message).
"use strict";

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));

const state = {
  status: null, // GET /api/status
  settings: null,
  lens: null,
  choices: null,
  aids: new Set(["histogram"]), // what the viewer shows (page names)
  histSource: "raw", // raw (sensor) or rendered (display) histogram
  lastInfo: null,
  capturing: false,
  magnifierPoint: null,
  magnifierZoom: 1,
  detail: null,
  lenses: [],
  tilt: null, // device roll in degrees when the browser reports motion
  af: null, // the last autofocus on this page (drawAfBox)
};

// ---- the API ---------------------------------------------------------------------------------
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const message = data && (data.error || (Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join("; ") : data.detail));
    throw new Error(message || `${response.status} ${response.statusText}`);
  }
  return data;
}

let toastTimer = null;
function toast(message, kind = "error") {
  const el = $("#toast");
  el.textContent = message;
  el.className = "toast" + (kind === "info" ? " info" : "");
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === "info" ? 2500 : 6000);
}

// Run a state change; on refusal say why and show the camera's real state again. Changes run
// one after another, in the order they were made: two in flight could answer out of order,
// and the older answer would show a state the camera has already left.
let pendingChanges = Promise.resolve();
function change(fn) {
  const run = async () => {
    try {
      return await fn();
    } catch (err) {
      toast(err.message);
      await refresh();
      return null;
    }
  };
  const result = pendingChanges.then(run);
  pendingChanges = result.catch(() => null);
  return result;
}

// ---- formatting ------------------------------------------------------------------------------
function fmtShutter(s) {
  if (s == null) return "—";
  if (s >= 0.3) return `${+s.toFixed(s < 2 ? 1 : 0)} s`;
  return `1/${Math.round(1 / s)}`;
}
function fmtDistance(m) {
  if (m == null || !isFinite(m)) return "∞";
  return m < 1 ? `${Math.round(m * 100)} cm` : `${+m.toFixed(m < 3 ? 2 : 1)} m`;
}
const fmtF = (f) => (f == null ? "f/—" : `f/${+f.toFixed(f < 10 ? 1 : 0)}`);

// Shutter speeds and ISOs in third stops, as the dials of a camera offer them.
const SHUTTERS = [
  1 / 8000, 1 / 6400, 1 / 5000, 1 / 4000, 1 / 3200, 1 / 2500, 1 / 2000, 1 / 1600, 1 / 1250,
  1 / 1000, 1 / 800, 1 / 640, 1 / 500, 1 / 400, 1 / 320, 1 / 250, 1 / 200, 1 / 160, 1 / 125,
  1 / 100, 1 / 80, 1 / 60, 1 / 50, 1 / 40, 1 / 30, 1 / 25, 1 / 20, 1 / 15, 1 / 13, 1 / 10,
  1 / 8, 1 / 6, 1 / 5, 1 / 4, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.3, 1.6, 2, 2.5, 3.2, 4, 5, 6, 8,
  10, 13, 15, 20, 25, 30,
];
const ISOS = [100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500,
  3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 20000, 25600];

// The focus ring's travel is linear in dioptres (1/distance), as a lens's helicoid roughly is:
// position 1000 is infinity, 0 the closest focus.
const RING_STEPS = 1000;
function ringToDistance(pos, minFocus) {
  const d = (1 - pos / RING_STEPS) / minFocus;
  return d <= 1e-6 ? null : 1 / d;
}
function distanceToRing(m, minFocus) {
  if (m == null || !isFinite(m)) return RING_STEPS;
  return Math.round(RING_STEPS * (1 - minFocus / Math.max(m, minFocus)));
}

// ---- status ----------------------------------------------------------------------------------
async function refresh() {
  try {
    const status = await api("GET", "/api/status");
    state.status = status;
    state.settings = status.settings;
    state.lens = status.lens;
    state.choices = status.choices;
    renderAll();
  } catch (err) {
    toast(`the camera does not answer (${err.message})`);
  }
}

function renderAll() {
  renderModule();
  renderSettings();
  renderLens();
  renderDrive();
}

function pressed(el, on) { el.setAttribute("aria-pressed", on ? "true" : "false"); }

function renderModule() {
  const module = state.settings.module;
  $$("#module-switch button").forEach((b) => pressed(b, b.dataset.module === module));
  document.body.dataset.module = module;
}

function fillSelect(select, options, value) {
  const key = JSON.stringify(options);
  if (select.dataset.options !== key) {
    select.innerHTML = "";
    for (const [v, label] of options) {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = label;
      select.append(o);
    }
    select.dataset.options = key;
  }
  if (value !== undefined) select.value = value;
}

function nearestIndex(list, v) {
  let best = 0;
  list.forEach((x, i) => { if (Math.abs(Math.log(x / v)) < Math.abs(Math.log(list[best] / v))) best = i; });
  return best;
}

function renderSettings() {
  const s = state.settings, c = state.choices;
  $$("#mode-dial button").forEach((b) => pressed(b, b.dataset.program === s.program));
  const [tMin, tMax] = c.shutter_range_s;
  const shutters = SHUTTERS.filter((t) => t >= tMin * 0.999 && t <= tMax * 1.001);
  fillSelect($("#shutter"), shutters.map((t) => [String(t), fmtShutter(t)]));
  $("#shutter").value = String(shutters[nearestIndex(shutters, s.shutter_s)]);
  $("#shutter").disabled = s.program === "P" || s.program === "A";
  $("#shutter").title = $("#shutter").disabled ? "The program chooses the shutter (use S or M)" : "";
  const [iMin, iMax] = c.iso_range;
  const isos = ISOS.filter((i) => i >= iMin && i <= iMax);
  const isoOptions = (s.program === "M" ? [] : [["auto", "Auto"]]).concat(isos.map((i) => [String(i), String(i)]));
  fillSelect($("#iso"), isoOptions);
  $("#iso").value = s.iso == null ? "auto" : String(isos[nearestIndex(isos, s.iso)]);
  $("#ev").value = s.ev;
  $("#ev-value").textContent = (s.ev > 0 ? "+" : "") + (+s.ev.toFixed(1)) + " EV";
  $("#ev").disabled = s.program === "M";
  const wbOptions = [["auto", "Auto"], ...c.wb_presets.map((p) => [p, p[0].toUpperCase() + p.slice(1)]), ["kelvin", "Kelvin…"]];
  fillSelect($("#wb"), wbOptions);
  const kelvin = /^([\d.]+)K$/.exec(s.wb);
  $("#wb").value = kelvin ? "kelvin" : s.wb;
  $("#kelvin-row").hidden = !kelvin;
  if (kelvin) $("#kelvin").value = kelvin[1];
  fillSelect($("#metering"), c.metering.map((m) => [m, m === "centre" ? "Centre-weighted" : m[0].toUpperCase() + m.slice(1)]), s.metering);
  const main = s.module === "main";
  $("#focus-main").hidden = !main;
  $("#focus-m-note").hidden = main;
  $("#focus-mode").value = s.focus_mode;
  $("#af-centre").hidden = !s.af_point;
  drawAfBox();
  fillSelect($("#look"), c.looks.map((l) => [l, l[0].toUpperCase() + l.slice(1)]), s.look);
  $("#format").value = s.format;
  $("#crop").value = s.crop ? `${s.crop[0]}x${s.crop[1]}` : "";
  if ($("#crop").value === "" && s.crop) {
    const o = document.createElement("option");
    o.value = `${s.crop[0]}x${s.crop[1]}`;
    o.textContent = `Centre ${s.crop[0]}×${s.crop[1]}`;
    $("#crop").append(o);
    $("#crop").value = o.value;
  }
}

function renderDrive() {
  const d = state.settings.drive, c = state.choices;
  fillSelect($("#drive-mode"), c.drive_modes.map((m) => [m, m[0].toUpperCase() + m.slice(1)]), d.mode);
  $("#drive-count").value = d.count;
  $("#drive-count-row").hidden = d.mode === "single";
  $("#drive-step-row").hidden = d.mode !== "bracket";
  $("#drive-interval-row").hidden = d.mode !== "interval";
  $("#drive-interval").value = d.interval_s || 2;
  const steps = Array.from($("#drive-step").options).map((o) => +o.value);
  $("#drive-step").value = $("#drive-step").options[nearestIndex(steps, d.step_ev)].value;
  $("#drive-timer").value = String(d.timer_s);
  if ($("#drive-timer").value === "") $("#drive-timer").value = "0";
}

// ---- the lens panel --------------------------------------------------------------------------
function renderLens() {
  const lens = state.lens;
  const card = $("#lens-card"), none = $("#lens-none");
  const attached = lens.attached;
  none.hidden = !!attached;
  card.hidden = !attached;
  $("#detection-details").hidden = !lens.has_mount;
  if (lens.has_mount) {
    fillSelect($("#detection"), state.choices.detection_modes.map((m) => [m, m[0].toUpperCase() + m.slice(1)]), lens.detection.mode);
    $("#manual-lens").value = lens.detection.manual_lens || "";
  }
  $(".lens-search").hidden = !lens.has_mount;
  if (!attached) {
    none.textContent = lens.has_mount
      ? "No lens on the M mount. Choose one from the catalogue below."
      : "This camera replays recorded files: their lens is whatever took them.";
    return;
  }
  const ident = lens.identification;
  $("#lens-name").textContent = attached.name;
  const badge = $("#lens-detection");
  if (ident) {
    const words = { coded: `coded (${ident.code_read})`, uncoded: "uncoded", "unknown-code": `unknown code ${ident.code_read}`, off: "detection off" };
    badge.textContent = words[ident.detection_state] + (ident.identified_by === "manual" ? ` → ${ident.lens_name} (manual menu)` : "");
    badge.className = "badge " + ident.detection_state;
    badge.hidden = false;
  } else {
    badge.textContent = "fixed lens";
    badge.className = "badge";
  }
  const r = lens.rings;
  $("#lens-focal").textContent = `${+r.focal_mm.toFixed(1)} mm`;
  $("#lens-equiv").textContent = `(${lens.focal_35mm_mm} mm in 35 mm terms)`;
  // The aperture ring: the lens's own click stops.
  const ring = $("#aperture-ring");
  const stops = attached.stops.length ? attached.stops : [attached.max_f];
  const key = stops.join(",") + "|" + lens.module;
  if (ring.dataset.key !== key) {
    ring.innerHTML = "";
    for (const f of stops) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.f = f;
      b.textContent = +f.toFixed(1);
      b.disabled = !lens.has_mount;
      b.addEventListener("click", () => turnRings({ f_number: f }));
      ring.append(b);
    }
    ring.dataset.key = key;
  }
  $$("#aperture-ring button").forEach((b) => pressed(b, Math.abs(+b.dataset.f - r.f_number) < 0.01));
  // A lens with a focal-length selector (e.g. Tri-Elmar) gets its own ring.
  const focals = attached.focal_settings_mm || [];
  $("#focal-block").hidden = focals.length < 2;
  const focalRing = $("#focal-ring");
  if (focalRing.dataset.key !== focals.join(",")) {
    focalRing.innerHTML = "";
    for (const fmm of focals) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.focal = fmm;
      b.textContent = `${fmm} mm`;
      b.addEventListener("click", () => turnRings({ focal_mm: fmm }));
      focalRing.append(b);
    }
    focalRing.dataset.key = focals.join(",");
  }
  $$("#focal-ring button").forEach((b) => pressed(b, Math.abs(+b.dataset.focal - r.focal_mm) < 0.01));
  // The focus ring with its distance scale and the depth of field on it.
  const minFocus = attached.min_focus_m;
  const focusRing = $("#focus-ring");
  focusRing.dataset.minFocus = minFocus;
  if (document.activeElement !== focusRing) focusRing.value = distanceToRing(r.focus_m, minFocus);
  $("#focus-value").textContent = fmtDistance(r.focus_m);
  const scale = $("#distance-scale");
  const marksKey = lens.distance_marks_m.join(",");
  if (scale.dataset.key !== marksKey) {
    scale.innerHTML = "";
    let lastPos = -100;
    for (const m of [...lens.distance_marks_m, null]) {
      const pos = distanceToRing(m, minFocus) / RING_STEPS * 100;
      if (pos - lastPos < 9 && m !== null) continue; // keep the labels apart
      const span = document.createElement("span");
      span.style.left = `${pos}%`;
      span.textContent = m === null ? "∞" : (m < 1 ? m.toFixed(1) : +m.toFixed(1));
      scale.append(span);
      lastPos = pos;
    }
    scale.dataset.key = marksKey;
  }
  const dof = lens.depth_of_field;
  const band = $("#dof-band");
  const near = distanceToRing(dof.near_m, minFocus) / RING_STEPS * 100;
  const far = distanceToRing(dof.far_m, minFocus) / RING_STEPS * 100;
  band.style.left = `${Math.min(near, far)}%`;
  band.style.width = `${Math.max(Math.abs(far - near), 0.6)}%`;
  $("#dof-text").textContent = `Depth of field ${fmtDistance(dof.near_m)} – ${fmtDistance(dof.far_m)} at ${fmtF(r.f_number)} `
    + `(hyperfocal ${fmtDistance(dof.hyperfocal_m)}, circle of confusion ${(dof.coc_mm * 1000).toFixed(1)} µm)`;
  const est = lens.estimate;
  const estEl = $("#estimate");
  if (lens.has_mount && est && est.f_number) {
    const lo = est.f_number * Math.pow(2, -est.sigma_stops / 2), hi = est.f_number * Math.pow(2, est.sigma_stops / 2);
    estEl.textContent = `Body's estimate after the last shot: ${fmtF(est.f_number)} ± ${est.sigma_stops.toFixed(2)} stop (${fmtF(lo)}–${fmtF(hi)})`;
  } else if (lens.has_mount) {
    estEl.textContent = "The body estimates the f-number from the next shot (the ring is not coded).";
  } else {
    estEl.textContent = "Fixed aperture.";
  }
  estEl.dataset.fNumber = est && est.f_number ? est.f_number : "";
  $("#lens-remove").hidden = !lens.has_mount;
  $$("#lens-list button").forEach((b) => pressed(b, b.dataset.lens === attached.id));
}

async function turnRings(changes) {
  const lens = state.lens;
  if (!lens.has_mount) {
    // The main module's fixed lens focuses by its motor (a setting), its aperture is fixed.
    if ("focus_m" in changes) {
      const s = await change(() => api("POST", "/api/settings", { focus_m: changes.focus_m ?? "inf" }));
      if (s) { state.settings = s; await refreshLens(); }
    }
    return;
  }
  const result = await change(() => api("POST", "/api/lens", changes));
  if (result) { state.lens = result; renderLens(); }
}

async function refreshLens() {
  state.lens = await api("GET", "/api/lens");
  renderLens();
}

async function searchLenses() {
  const q = $("#lens-search").value;
  const list = await api("GET", `/api/lenses?q=${encodeURIComponent(q)}`);
  const ul = $("#lens-list");
  ul.innerHTML = "";
  for (const l of list) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.lens = l.id;
    b.innerHTML = `<span></span><small></small>`;
    b.firstChild.textContent = l.name;
    b.lastChild.textContent = `${l.focal_mm} mm f/${l.max_f}` + (l.code ? "" : " · no code");
    b.addEventListener("click", () => mountLens(l.id));
    li.append(b);
    ul.append(li);
  }
  if (!list.length) ul.innerHTML = "<li class=note>No lens matches.</li>";
  const manual = $("#manual-lens");
  if (!q && manual.options.length <= 1) {
    for (const l of list) {
      const o = document.createElement("option");
      o.value = l.id;
      o.textContent = l.name;
      manual.append(o);
    }
    if (state.lens && state.lens.detection) manual.value = state.lens.detection.manual_lens || "";
  }
  const attached = state.lens && state.lens.attached;
  $$("#lens-list button").forEach((b) => pressed(b, attached && b.dataset.lens === attached.id));
}

async function mountLens(id) {
  const body = { lens: id };
  if ($("#mount-uncoded").checked) body.code_read = 0;
  const result = await change(() => api("POST", "/api/lens", body));
  if (result) {
    state.lens = result;
    if (state.settings.module !== "m") await setSettings({ module: "m" });
    renderLens();
  }
}

// ---- settings --------------------------------------------------------------------------------
async function setSettings(changes) {
  const s = await change(() => api("POST", "/api/settings", changes));
  if (s) {
    const moduleChanged = s.module !== state.settings.module;
    state.settings = s;
    if (moduleChanged) await refresh();
    else { renderSettings(); renderDrive(); renderModule(); }
    if ("focus_m" in changes) await refreshLens();
  }
}

function driveChange() {
  const mode = $("#drive-mode").value;
  const drive = { mode, timer_s: +$("#drive-timer").value };
  if (mode === state.settings.drive.mode && mode !== "single") drive.count = +$("#drive-count").value;
  if (mode === "bracket") drive.step_ev = +$("#drive-step").value;
  if (mode === "interval") drive.interval_s = +$("#drive-interval").value;
  setSettings({ drive });
}

// ---- the live view ---------------------------------------------------------------------------
let ws = null;
let frameUrl = null;
let frameTimes = [];

function serverAids() {
  const out = [];
  if (state.aids.has("histogram")) out.push(state.histSource === "raw" ? "raw-histogram" : "histogram");
  for (const a of ["zebra", "peaking", "waveform"]) if (state.aids.has(a)) out.push(a);
  return out;
}

function sendAids() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ aids: serverAids() }));
}

function connectLive() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/api/live`);
  ws.binaryType = "blob";
  ws.onopen = () => { sendAids(); $("#live-state").textContent = "live"; };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") {
      const msg = JSON.parse(event.data);
      if (msg.type === "frame") onFrameInfo(msg);
      else onLiveStatus(msg);
      return;
    }
    const url = URL.createObjectURL(event.data);
    const img = $("#viewfinder");
    const old = frameUrl;
    frameUrl = url;
    img.src = url;
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
    const now = performance.now();
    frameTimes = [...frameTimes.slice(-19), now];
    const wrap = $("#viewfinder-wrap");
    wrap.dataset.frames = String(+(wrap.dataset.frames || 0) + 1);
    if (frameTimes.length > 2) {
      const fps = (frameTimes.length - 1) / ((now - frameTimes[0]) / 1000);
      $("#live-state").textContent = `live ${fps.toFixed(1)} fps`;
    }
  };
  ws.onclose = (event) => {
    $("#live-state").textContent = event.code === 4403 ? "refused" : "reconnecting…";
    if (event.code === 4403) showMessage(event.reason || "the live view was refused");
    else setTimeout(connectLive, 1000);
  };
}

function showMessage(text) {
  const el = $("#viewfinder-message");
  el.textContent = text || "";
  el.hidden = !text;
}

function onLiveStatus(msg) {
  showMessage(msg.error);
  // No frame comes while the camera cannot show one: the last picture is not what it sees.
  $("#viewfinder").classList.toggle("stale", !!msg.error);
  if (msg.error) $("#readout").textContent = "";
  if (msg.progress) showProgress(msg.progress);
}

function onFrameInfo(info) {
  state.lastInfo = info;
  showMessage(info.error || null);
  $("#viewfinder").classList.remove("stale");
  const wrap = $("#viewfinder-wrap");
  wrap.dataset.frameIndex = info.index;
  wrap.dataset.module = info.module;
  const s = state.settings;
  const ev = s && s.program !== "M" && s.ev ? ` ${s.ev > 0 ? "+" : ""}${(+s.ev).toFixed(1)} EV` : "";
  $("#readout").textContent = `${info.module === "m" ? "M" : "Main"}  ${fmtShutter(info.exposure_s)}  ${fmtF(info.f_number)}  ISO ${Math.round(info.iso)}${ev}`;
  drawHistogram(info);
  drawWaveform(info);
  if (info.peaking) {
    // Where focus peaking lights, as the weighted centre of the coarse grid (the page and the
    // tests read it; the picture itself carries the painted edges).
    const g = info.peaking.grid;
    let sum = 0, sx = 0, sy = 0;
    g.forEach((row, r) => row.forEach((v, c) => { sum += v; sx += v * (c + 0.5) / row.length; sy += v * (r + 0.5) / g.length; }));
    wrap.dataset.peakingFraction = info.peaking.fraction.toFixed(5);
    wrap.dataset.peakingX = sum > 0 ? (sx / sum).toFixed(4) : "";
    wrap.dataset.peakingY = sum > 0 ? (sy / sum).toFixed(4) : "";
    wrap.dataset.peakingGrid = JSON.stringify(g);
  } else {
    delete wrap.dataset.peakingFraction;
  }
  if (info.zebra_over_fraction != null) wrap.dataset.zebraFraction = info.zebra_over_fraction.toFixed(5);
}

const RAW_COLOURS = { R: "#ff5a4f", G: "#5fd17a", B: "#5a9bff" };

function drawHistogram(info) {
  const canvas = $("#histogram");
  const panel = $("#histogram-panel");
  panel.hidden = !state.aids.has("histogram");
  if (panel.hidden) return;
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  if (state.histSource === "raw" && info.raw_histogram) {
    const h = info.raw_histogram;
    const summary = drawRawHistogram(ctx, W, H, h);
    canvas.dataset.source = "raw";
    canvas.dataset.medianEv = summary.median.toFixed(3);
    canvas.dataset.clipped = summary.clipped.toFixed(5);
    $("#histogram-kind").textContent = "raw";
    $("#histogram-summary").textContent = `median ${summary.median.toFixed(1)} EV · clipped ${(summary.clipped * 100).toFixed(2)} %`;
  } else if (state.histSource === "rendered" && info.histogram) {
    const h = info.histogram;
    const peak = Math.max(1, ...["R", "G", "B", "Y"].map((c) => Math.max(...h[c].slice(1, 255))));
    ctx.globalCompositeOperation = "lighter";
    for (const [c, colour] of [["R", "#c03a33"], ["G", "#3c9a55"], ["B", "#3a6fc0"]]) {
      ctx.fillStyle = colour;
      h[c].forEach((n, i) => { const y = Math.sqrt(n / peak) * H; ctx.fillRect(i * W / 256, H - y, W / 256 + 0.5, y); });
    }
    ctx.globalCompositeOperation = "source-over";
    ctx.strokeStyle = "#eee";
    ctx.beginPath();
    h.Y.forEach((n, i) => { const y = H - Math.min(1, Math.sqrt(n / peak)) * H; i ? ctx.lineTo(i * W / 256, y) : ctx.moveTo(0, y); });
    ctx.stroke();
    let total = 0, sum = 0;
    h.Y.forEach((n, i) => { total += n; sum += n * i; });
    const mean = sum / Math.max(total, 1);
    canvas.dataset.source = "rendered";
    canvas.dataset.meanLevel = mean.toFixed(2);
    $("#histogram-kind").textContent = "JPEG";
    $("#histogram-summary").textContent = `mean level ${mean.toFixed(0)} · at 255 ${(100 * h.Y[255] / Math.max(total, 1)).toFixed(2)} %`;
  }
}

// Counts per CFA colour over EV below clipping; returns the green median (EV) and the largest
// clipped fraction of any colour.
function drawRawHistogram(ctx, W, H, h) {
  const edges = h.edges_ev;
  const lo = edges[0], hi = edges[edges.length - 1];
  const x = (ev) => (ev - lo) / (hi - lo) * W;
  let peak = 1;
  for (const c of "RGB") peak = Math.max(peak, ...h[c]);
  ctx.fillStyle = "rgba(255,255,255,0.08)";
  for (let ev = Math.ceil(lo); ev <= hi; ev += 2) ctx.fillRect(x(ev), 0, 1, H);
  for (const c of "RGB") {
    ctx.strokeStyle = RAW_COLOURS[c];
    ctx.beginPath();
    h[c].forEach((n, i) => {
      const xx = x((edges[i] + edges[i + 1]) / 2), yy = H - Math.sqrt(n / peak) * (H - 6);
      i ? ctx.lineTo(xx, yy) : ctx.moveTo(xx, yy);
    });
    ctx.stroke();
    const clipped = h.clipped[c] / Math.max(h.total[c], 1);
    if (clipped > 0.0005) { ctx.fillStyle = RAW_COLOURS[c]; ctx.fillRect(W - 4, 0, 4, Math.min(H, 4 + clipped * 400)); }
  }
  const g = h.G;
  const total = h.total.G;
  let acc = h.floor.G, median = lo;
  for (let i = 0; i < g.length && acc < total / 2; i++) {
    if (acc + g[i] >= total / 2) { median = edges[i] + (edges[i + 1] - edges[i]) * ((total / 2 - acc) / Math.max(g[i], 1)); break; }
    acc += g[i];
    median = edges[i + 1];
  }
  if (acc + h.clipped.G >= total / 2 && median >= hi) median = hi;
  const clipped = Math.max(...["R", "G", "B"].map((c) => h.clipped[c] / Math.max(h.total[c], 1)));
  return { median, clipped };
}

function drawWaveform(info) {
  const canvas = $("#waveform");
  canvas.hidden = !(state.aids.has("waveform") && info.waveform);
  if (canvas.hidden) return;
  const wf = info.waveform;
  canvas.width = wf.width;
  canvas.height = wf.height;
  const bytes = Uint8Array.from(atob(wf.data), (ch) => ch.charCodeAt(0));
  const img = canvas.getContext("2d").createImageData(wf.width, wf.height);
  for (let i = 0; i < bytes.length; i++) {
    img.data[4 * i] = bytes[i] * 0.6;
    img.data[4 * i + 1] = bytes[i];
    img.data[4 * i + 2] = bytes[i] * 0.7;
    img.data[4 * i + 3] = bytes[i] ? 255 : 0;
  }
  canvas.getContext("2d").putImageData(img, 0, 0);
}

function drawGrid() {
  const canvas = $("#grid-overlay");
  canvas.hidden = !state.aids.has("grid");
  if (canvas.hidden) return;
  const r = canvas.getBoundingClientRect();
  canvas.width = r.width;
  canvas.height = r.height;
  const ctx = canvas.getContext("2d");
  ctx.strokeStyle = "rgba(255,255,255,0.45)";
  ctx.lineWidth = 1;
  // Thirds of the picture, not of its frame (object-fit may leave bars).
  const p = picture(), x0 = p.left - r.left, y0 = p.top - r.top;
  for (const f of [1 / 3, 2 / 3]) {
    const x = Math.round(x0 + p.width * f) + 0.5, y = Math.round(y0 + p.height * f) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, y0); ctx.lineTo(x, y0 + p.height);
    ctx.moveTo(x0, y); ctx.lineTo(x0 + p.width, y);
    ctx.stroke();
  }
}

// The level: the phone's roll from the browser's motion sensor (the camera is the phone); a
// desktop without one shows the simulated camera, which is held level.
function drawLevel() {
  const canvas = $("#level-overlay");
  canvas.hidden = !state.aids.has("level");
  if (canvas.hidden) return;
  const r = canvas.getBoundingClientRect();
  canvas.width = r.width;
  canvas.height = r.height;
  const ctx = canvas.getContext("2d");
  const roll = state.tilt == null ? 0 : state.tilt;
  const level = Math.abs(roll) < 0.5;
  ctx.translate(r.width / 2, r.height / 2);
  ctx.strokeStyle = "rgba(255,255,255,0.5)";
  ctx.beginPath(); ctx.moveTo(-r.width * 0.3, 0); ctx.lineTo(-r.width * 0.08, 0);
  ctx.moveTo(r.width * 0.08, 0); ctx.lineTo(r.width * 0.3, 0); ctx.stroke();
  ctx.rotate(-roll * Math.PI / 180);
  ctx.strokeStyle = level ? "#5fd17a" : "#ffcc33";
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(-r.width * 0.25, 0); ctx.lineTo(r.width * 0.25, 0); ctx.stroke();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "rgba(255,255,255,0.8)";
  ctx.font = "12px system-ui";
  ctx.fillText(state.tilt == null ? "level: no tilt sensor (the simulated camera is level)" : `roll ${roll.toFixed(1)}°`, 8, r.height - 8);
  canvas.dataset.roll = roll.toFixed(2);
}

function listenForTilt() {
  window.addEventListener("devicemotion", (e) => {
    const g = e.accelerationIncludingGravity;
    if (!g || g.x == null || g.y == null) return;
    const screenAngle = (screen.orientation && screen.orientation.angle) || 0;
    state.tilt = ((Math.atan2(g.x, g.y) * 180 / Math.PI - screenAngle + 540) % 360) - 180;
    if (state.aids.has("level")) drawLevel();
  });
}

function setAid(aid, on) {
  if (on) state.aids.add(aid); else state.aids.delete(aid);
  pressed($(`#aid-${aid}`), on);
  if (aid === "grid") drawGrid();
  if (aid === "level") {
    // iOS asks the user before a page may read the motion sensor (on a tap, like this one).
    if (on && typeof DeviceMotionEvent !== "undefined" && typeof DeviceMotionEvent.requestPermission === "function") {
      DeviceMotionEvent.requestPermission().catch(() => null);
    }
    drawLevel();
  }
  if (aid === "magnifier") {
    $("#viewfinder-wrap").classList.toggle("magnify-armed", on);
    if (!on) $("#magnifier-panel").hidden = true;
  }
  if (aid === "histogram") $("#histogram-panel").hidden = !on;
  if (aid === "waveform" && !on) $("#waveform").hidden = true;
  sendAids();
}

// ---- autofocus -------------------------------------------------------------------------------
// state.af: the last AF run on this page, {point: [x, y] fractions of the field, state:
// "busy" | "in-focus" | "failed", focus_m}; its box is drawn where the region was.
async function autofocus() {
  const point = (state.settings && state.settings.af_point) || [0.5, 0.5];
  state.af = { point, state: "busy" };
  drawAfBox();
  $("#autofocus").disabled = true;
  const r = await change(() => api("POST", "/api/autofocus"));
  $("#autofocus").disabled = false;
  if (!r) { state.af = null; drawAfBox(); return; }
  state.af = { point: r.point || point, state: r.in_focus ? "in-focus" : "failed", focus_m: r.focus_m };
  toast(r.in_focus ? `In focus at ${fmtDistance(r.focus_m)}` : `AF: ${r.reason || "no focus found"}`, r.in_focus ? "info" : "error");
  await refresh();
}

async function focusAt(point) {
  const p = point.map((v) => +v.toFixed(4));
  state.af = { point: p, state: "busy" };
  drawAfBox();
  const s = await change(() => api("POST", "/api/settings", { af_point: p }));
  if (!s) { state.af = null; drawAfBox(); return; } // refused: change() said why
  state.settings = s;
  renderSettings();
  await autofocus();
}

// The picture on the page: the image element less the bars object-fit leaves, and the part
// of the field it shows (the frame's DefaultCrop, info.field as x, y, width, height
// fractions). Points of the field (AF point, magnifier) go through it both ways.
function picture() {
  const img = $("#viewfinder"), r = img.getBoundingClientRect();
  const nw = img.naturalWidth || 4, nh = img.naturalHeight || 3;
  const scale = Math.min(r.width / nw, r.height / nh);
  const width = nw * scale, height = nh * scale;
  const field = (state.lastInfo && state.lastInfo.field) || [0, 0, 1, 1];
  return { left: r.left + (r.width - width) / 2, top: r.top + (r.height - height) / 2, width, height, field };
}

function fieldPoint(clientX, clientY) {
  const p = picture();
  const x = (clientX - p.left) / p.width, y = (clientY - p.top) / p.height;
  if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return null;
  const [fx, fy, fw, fh] = p.field;
  return [fx + x * fw, fy + y * fh];
}

function drawAfBox() {
  const box = $("#af-box");
  const af = state.af, c = state.choices;
  const show = !!(af && state.settings && state.settings.module === "main" && c && c.af_region);
  box.hidden = !show;
  if (!show) return;
  const p = picture(), wrap = $("#viewfinder-wrap").getBoundingClientRect();
  const [fx, fy, fw, fh] = p.field;
  box.style.left = `${p.left - wrap.left + ((af.point[0] - fx) / fw) * p.width}px`;
  box.style.top = `${p.top - wrap.top + ((af.point[1] - fy) / fh) * p.height}px`;
  box.style.width = `${(c.af_region[0] / fw) * p.width}px`;
  box.style.height = `${(c.af_region[1] / fh) * p.height}px`;
  box.dataset.state = af.state;
  box.dataset.point = af.point.join(",");
  if (af.focus_m !== undefined) box.dataset.focusM = af.focus_m == null ? "inf" : String(af.focus_m);
  else delete box.dataset.focusM;
}

async function magnify(point) {
  state.magnifierPoint = point;
  const [x, y] = point;
  const caption = $("#magnifier-caption");
  caption.textContent = "reading the sensor…";
  $("#magnifier-panel").hidden = false;
  try {
    const response = await fetch(`/api/magnifier?x=${x.toFixed(4)}&y=${y.toFixed(4)}&zoom=${state.magnifierZoom}`);
    if (!response.ok) throw new Error((await response.json()).error || response.statusText);
    const blob = await response.blob();
    const img = $("#magnifier");
    const old = img.src;
    img.src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    caption.textContent = `${state.magnifierZoom}:1 at ${Math.round(x * 100)} %, ${Math.round(y * 100)} %`;
    $("#magnifier-zoom").textContent = state.magnifierZoom === 1 ? "2:1" : "1:1";
  } catch (err) {
    caption.textContent = "";
    $("#magnifier-panel").hidden = true;
    toast(err.message);
  }
}

// ---- capture ---------------------------------------------------------------------------------
function showProgress(p) {
  const ring = $("#shutter-progress");
  const text = $("#capture-status");
  const badge = $("#timer-badge");
  if (!p) {
    ring.style.strokeDashoffset = 276.5;
    badge.hidden = true;
    return;
  }
  const total = Math.max(p.total || 1, 1);
  let fraction = (p.done || 0) / total;
  const exposure = state.settings && state.settings.shutter_s;
  if (p.phase === "timer") {
    badge.hidden = false;
    badge.textContent = `${Math.ceil(p.timer_left_s)} s`;
    text.textContent = "self-timer…";
  } else {
    badge.hidden = true;
    const elapsed = (performance.now() - state.captureStarted) / 1000;
    const longExposure = state.settings.program.match(/[SM]/) && exposure >= 1 && total === 1 && p.phase === "exposing";
    if (longExposure) fraction = Math.min(elapsed / exposure, 0.99);
    text.textContent = p.phase === "developing" ? "developing the JPEG…"
      : total > 1 ? (p.done ? `${p.done} of ${total} frames written…` : `taking ${total} frames…`)
        : longExposure ? `exposing ${elapsed.toFixed(0)} / ${exposure.toFixed(0)} s…` : "exposing…";
  }
  ring.style.strokeDashoffset = 276.5 * (1 - fraction);
}

async function shoot() {
  if (state.capturing) return;
  state.capturing = true;
  state.captureStarted = performance.now();
  const button = $("#shutter-button");
  button.classList.add("busy");
  button.setAttribute("aria-busy", "true");
  $("#capture-status").textContent = "exposing…";
  const poll = setInterval(async () => {
    try { const st = await api("GET", "/api/status"); if (st.progress) showProgress(st.progress); } catch (_) { /* the press answers */ }
  }, 300);
  try {
    await pendingChanges; // a setting changed just before the press applies to it
    const result = await api("POST", "/api/capture");
    const files = result.files;
    $("#capture-status").textContent = `saved ${files.join(", ")}`;
    $("#capture-status").dataset.files = files.join(",");
    const af = result.autofocus; // focus mode AF: say when it found no focus
    if (af && af.point) {
      state.af = { point: af.point, state: af.in_focus ? "in-focus" : "failed", focus_m: af.focus_m };
      drawAfBox();
    }
    if (af && !af.in_focus) toast(`Saved ${files.join(", ")}; AF: ${af.reason || "no focus found"}`);
    else toast(`Saved ${files.join(", ")}`, "info");
    await loadGallery();
    await refreshLens();
  } catch (err) {
    $("#capture-status").textContent = "";
    toast(err.message);
  } finally {
    clearInterval(poll);
    showProgress(null);
    state.capturing = false;
    button.classList.remove("busy");
    button.removeAttribute("aria-busy");
  }
}

// ---- gallery ---------------------------------------------------------------------------------
async function loadGallery() {
  const captures = await api("GET", "/api/captures");
  const gallery = $("#gallery");
  gallery.innerHTML = "";
  $("#gallery-empty").hidden = captures.length > 0;
  for (const c of captures.slice().reverse()) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.name = c.name;
    b.className = "thumb";
    const img = document.createElement("img");
    img.loading = "lazy";
    img.alt = c.name;
    img.src = `/captures/${encodeURIComponent(c.name)}/thumbnail`;
    const label = document.createElement("span");
    label.textContent = c.name;
    b.append(img, label);
    b.addEventListener("click", () => showDetail(c));
    gallery.append(b);
  }
  const last = captures[captures.length - 1];
  const thumb = $("#last-thumb");
  if (last) thumb.src = `/captures/${encodeURIComponent(last.name)}/thumbnail`;
  else thumb.removeAttribute("src");
  if (state.detail && !captures.some((c) => c.name === state.detail.name)) $("#capture-detail").hidden = true;
  return captures;
}

const EXIF_ROWS = [
  ["Shutter", (e) => (e.exposure_s ? fmtShutter(e.exposure_s) : "—")],
  ["Aperture", (e) => fmtF(e.f_number)],
  ["ISO", (e) => e.iso],
  ["Focal length", (e) => (e.focal_mm ? `${e.focal_mm} mm` : "—")],
  ["Lens", (e) => e.lens_model || "—"],
  ["Camera", (e) => ((e.model || "").startsWith(e.make || "\u0000") ? e.model : `${e.make || ""} ${e.model || ""}`.trim())],
  ["Size", (e) => `${e.width} × ${e.height}`],
  ["Exposure bias", (e) => (e.exposure_bias_ev == null ? "—" : `${e.exposure_bias_ev.toFixed(1)} EV`)],
  ["Taken", (e) => (e.datetime ? new Date(e.datetime).toLocaleString() : "—")],
];

function showDetail(c) {
  state.detail = c;
  $("#capture-detail").hidden = false;
  $("#detail-name").textContent = c.name;
  $("#detail-image").src = c.jpegs.length ? `/captures/${encodeURIComponent(c.jpegs[0])}` : `/captures/${encodeURIComponent(c.name)}/thumbnail`;
  const table = $("#detail-exif");
  table.innerHTML = "";
  const rows = [...EXIF_ROWS];
  if (c.estimate && c.estimate.f_number) rows.push(["Body's f-number estimate", () => `${fmtF(c.estimate.f_number)} ± ${c.estimate.sigma_stops.toFixed(2)} stop`]);
  rows.push(["File", () => `${(c.size_bytes / 1e6).toFixed(1)} MB`]);
  for (const [label, get] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = label;
    tr.insertCell().textContent = get(c.exif);
  }
  const canvas = $("#detail-histogram");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  drawRawHistogram(ctx, canvas.width, canvas.height, c.raw_histogram);
  const dng = $("#download-dng");
  dng.href = `/captures/${encodeURIComponent(c.name)}`;
  dng.setAttribute("download", c.name);
  const jpegs = $("#download-jpegs");
  jpegs.innerHTML = "";
  for (const j of c.jpegs) {
    const a = document.createElement("a");
    a.className = "button";
    a.href = `/captures/${encodeURIComponent(j)}`;
    a.setAttribute("download", j);
    a.textContent = `JPEG ${j}`;
    jpegs.append(a);
  }
  $("#capture-detail").scrollIntoView({ block: "nearest" });
}

async function deleteDetail() {
  const c = state.detail;
  if (!c) return;
  const dialog = $("#confirm-delete");
  $("#confirm-text").textContent = `Delete ${c.name}${c.jpegs.length ? ` and ${c.jpegs.join(", ")}` : ""}? This cannot be undone.`;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    const ok = await change(() => api("DELETE", `/captures/${encodeURIComponent(c.name)}`));
    if (ok) {
      toast(`Deleted ${ok.deleted.join(", ")}`, "info");
      state.detail = null;
      $("#capture-detail").hidden = true;
      await loadGallery();
    }
  }, { once: true });
}

// ---- scenes ----------------------------------------------------------------------------------
async function loadScenes() {
  const scenes = await api("GET", "/api/scenes");
  const select = $("#scene-select");
  fillSelect(select, scenes.builtin.map((n) => [n, n.replace(":", ": ")]));
  if (scenes.builtin.includes(scenes.current)) select.value = scenes.current;
  $("#scene-current").textContent = scenes.current ? `In front of the camera: ${scenes.current}` : "";
  const simulated = scenes.builtin.length > 0;
  $("#tab-scene").hidden = !simulated;
}

async function applyScene() {
  const body = { name: $("#scene-select").value, illuminant: $("#scene-illuminant").value || "D65" };
  const lum = $("#scene-luminance").value;
  if (lum) body.luminance_cd_m2 = +lum;
  const r = await change(() => api("POST", "/api/scene", body));
  if (r) { state.af = null; drawAfBox(); toast(`Scene: ${r.current}`, "info"); await loadScenes(); }
}

async function uploadScene(event) {
  event.preventDefault();
  const form = new FormData();
  const image = $("#upload-image").files[0];
  if (!image) { toast("choose a picture to upload"); return; }
  form.append("image", image);
  const depth = $("#upload-depth").files[0];
  if (depth) form.append("depth", depth);
  if ($("#upload-hfov").value) form.append("hfov_deg", $("#upload-hfov").value);
  if ($("#upload-luminance").value) form.append("luminance_cd_m2", $("#upload-luminance").value);
  form.append("illuminant", $("#scene-illuminant").value || "D65");
  $("#upload-submit").disabled = true;
  try {
    const r = await change(() => api("POST", "/api/scene/upload", form));
    if (r) { toast(`Scene: ${r.current}`, "info"); await loadScenes(); }
  } finally {
    $("#upload-submit").disabled = false;
  }
}

// ---- wiring ----------------------------------------------------------------------------------
function showTab(name) {
  $$(".tabs button").forEach((b) => b.setAttribute("aria-selected", b.dataset.tab === name ? "true" : "false"));
  $$(".tabpanel").forEach((p) => { p.hidden = p.dataset.panel !== name; });
  if (name === "gallery") loadGallery();
  if (name === "scene") loadScenes();
}

function wire() {
  $$("#module-switch button").forEach((b) => b.addEventListener("click", () => setSettings({ module: b.dataset.module })));
  $$("#mode-dial button").forEach((b) => b.addEventListener("click", () => setSettings({ program: b.dataset.program })));
  $("#shutter").addEventListener("change", (e) => setSettings({ shutter_s: +e.target.value }));
  $("#iso").addEventListener("change", (e) => setSettings({ iso: e.target.value === "auto" ? null : +e.target.value }));
  $("#ev").addEventListener("input", (e) => { $("#ev-value").textContent = `${(+e.target.value).toFixed(1)} EV`; });
  $("#ev").addEventListener("change", (e) => setSettings({ ev: Math.round(+e.target.value * 3) / 3 }));
  $("#wb").addEventListener("change", (e) => {
    if (e.target.value === "kelvin") { $("#kelvin-row").hidden = false; setSettings({ wb: `${$("#kelvin").value}K` }); } else setSettings({ wb: e.target.value });
  });
  $("#kelvin").addEventListener("change", (e) => setSettings({ wb: `${e.target.value}K` }));
  $("#metering").addEventListener("change", (e) => setSettings({ metering: e.target.value }));
  $("#focus-mode").addEventListener("change", (e) => setSettings({ focus_mode: e.target.value }));
  $("#autofocus").addEventListener("click", autofocus);
  $("#af-centre").addEventListener("click", async () => {
    state.af = null;
    await setSettings({ af_point: null });
  });
  $("#look").addEventListener("change", (e) => setSettings({ look: e.target.value }));
  $("#format").addEventListener("change", (e) => setSettings({ format: e.target.value }));
  $("#crop").addEventListener("change", (e) => setSettings({ crop: e.target.value || null }));
  for (const id of ["#drive-mode", "#drive-count", "#drive-step", "#drive-interval", "#drive-timer"]) $(id).addEventListener("change", driveChange);

  $$(".aids .aid").forEach((b) => b.addEventListener("click", () => setAid(b.dataset.aid, !state.aids.has(b.dataset.aid))));
  $("#histogram-source").addEventListener("click", () => {
    state.histSource = state.histSource === "raw" ? "rendered" : "raw";
    $("#histogram-source").textContent = state.histSource === "raw" ? "RAW" : "JPEG";
    sendAids();
  });
  // A tap on the picture: the magnifier there when it is armed, else (main module) focus
  // there, as a phone camera does.
  $("#viewfinder-wrap").addEventListener("click", (e) => {
    if (e.target.closest("#magnifier-panel, .panel-overlay")) return;
    const point = fieldPoint(e.clientX, e.clientY);
    if (!point) return;
    if (state.aids.has("magnifier")) magnify(point);
    else if (state.settings && state.settings.module === "main") focusAt(point);
  });
  $("#magnifier-zoom").addEventListener("click", () => { state.magnifierZoom = state.magnifierZoom === 1 ? 2 : 1; magnify(state.magnifierPoint); });
  $("#magnifier-close").addEventListener("click", () => { $("#magnifier-panel").hidden = true; });

  const focusRing = $("#focus-ring");
  focusRing.addEventListener("input", () => { $("#focus-value").textContent = fmtDistance(ringToDistance(+focusRing.value, +focusRing.dataset.minFocus)); });
  focusRing.addEventListener("change", () => {
    const m = ringToDistance(+focusRing.value, +focusRing.dataset.minFocus);
    turnRings({ focus_m: m == null ? "inf" : +m.toFixed(3) });
  });
  $("#lens-remove").addEventListener("click", async () => {
    const r = await change(() => api("POST", "/api/lens", { lens: null }));
    if (r) { state.lens = r; renderLens(); }
  });
  let searchTimer = null;
  $("#lens-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(searchLenses, 150); });
  $("#detection").addEventListener("change", async (e) => {
    const r = await change(() => api("POST", "/api/lens", { detection: e.target.value }));
    if (r) { state.lens = r; renderLens(); }
  });
  $("#manual-lens").addEventListener("change", async (e) => {
    const r = await change(() => api("POST", "/api/lens", { manual_lens: e.target.value || null }));
    if (r) { state.lens = r; renderLens(); }
  });

  $("#shutter-button").addEventListener("click", shoot);
  $("#gallery-jump").addEventListener("click", () => showTab("gallery"));
  $$(".tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  $("#detail-close").addEventListener("click", () => { $("#capture-detail").hidden = true; state.detail = null; });
  $("#detail-delete").addEventListener("click", deleteDetail);
  $("#scene-apply").addEventListener("click", applyScene);
  $("#scene-upload").addEventListener("submit", uploadScene);
  window.addEventListener("resize", () => { drawGrid(); drawLevel(); drawAfBox(); });
  // A frame's picture may differ in size from the last (the module, the readout): the AF box
  // and the grid follow it. (Its field comes in the text message before the picture.)
  $("#viewfinder").addEventListener("load", (e) => {
    const img = e.target, size = `${img.naturalWidth}x${img.naturalHeight}`;
    if (state.af) drawAfBox();
    if (img.dataset.size !== size) { img.dataset.size = size; drawGrid(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === " " && !e.target.closest("input, select, textarea, button")) { e.preventDefault(); shoot(); }
  });
}

async function main() {
  wire();
  listenForTilt();
  await refresh();
  connectLive();
  await Promise.all([searchLenses(), loadGallery(), loadScenes()]);
  document.body.dataset.ready = "true";
}

main();
