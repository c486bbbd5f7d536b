// Wiring: page data -> widgets, server events -> drawing, user actions -> requests.
// The server owns every number, and reads and writes the links: this module only keeps what the page needs to draw
// the newest frame once per animation frame, and sends the page's address on every (re)connection.
import { asBytes, base64Bytes, byteLookup } from "./colors.js";
import { ClassBar } from "./classroom.js";
import { Connection, NotConnected } from "./connection.js";
import { OptionsTable, buildControls, buildDatasetPicker } from "./controls.js";
import { installFiles } from "./files.js";
import { formatEpoch, formatLoss } from "./format.js";
import { decodeFrame } from "./frames.js";
import { OutputMap } from "./heatmap.js";
import { installShortcuts } from "./keyboard.js";
import { BRANCH_COLORS, LossChart } from "./linechart.js";
import { NetworkDiagram } from "./network.js";
import { ConnectionBanner, DivergenceNotice, ErrorList, ServiceNotice } from "./notices.js";
import { OwnData } from "./owndata.js";
import { SeedPanel } from "./seeds.js";
import { DraftKeeper, SavePanel, savedIdOfAddress } from "./saving.js";
import { ConfigSync } from "./session.js";
import { Timeline, branchLosses } from "./timeline.js";

const $ = (selector) => document.querySelector(selector);
const pageData = JSON.parse($("#page-data").textContent);
const table = new OptionsTable(pageData.options);
// The seven input features, in the order of the page data's feature thumbnails; the server's limits on the shape.
const FEATURES = pageData.features;
const LAYER_LIMITS = { layers: pageData.limits.hiddenLayers, neurons: pageData.limits.neurons, newLayer: 2 };
const MAP_BYTES = 100 * 100;

// Tiny hook for the benchmark and tests: frames drawn, and whether a frame received after the first accepted
// config was drawn (the server sends a config's reply before that config's first frame); the last frame's step result
// as received (full precision) and the data's counts from the last `dataset` event.
const stats = { framesDrawn: 0, framesReceived: 0, configs: 0, configFrame: 0, drawnFrame: 0, lastStep: null,
                trainCount: 0, testCount: 0, seedUpdates: 0, checkpointsDrawn: 0, histories: 0, drawnStatus: null };
window.__playgroundStats = stats;

// --- widgets --------------------------------------------------------------------------------------------------

const errors = new ErrorList($("#errors"));
const banner = new ConnectionBanner($("#connection-status"));
const serviceNotice = new ServiceNotice($("#service-status"));
const divergence = new DivergenceNotice($("#divergence"));
const chart = new LossChart($("#linechart"), $("#chart-readout"));
const outputMap = new OutputMap($("#heatmap"));
const lookups = { plain: byteLookup(), discrete: byteLookup({ discretize: true }) };

let pendingFrame = null;       // the newest undrawn frame; older ones are dropped
let pendingAcks = [];
let drawScheduled = false;

const view = {
  status: "stopped",
  epoch: 0,
  lastFrame: null,          // kept to repaint on view changes while no frame comes (paused)
  repaintAll: true,         // repaint every thumbnail at the next draw (view change, rebuild)
  sentFocus: null,          // the node the server shows in the big map (null: the output)
  wantedFocus: null,
  focusInFlight: false,
  flowOffset: 0,
  chartLast: null,          // the last point put on the chart: {epoch, train, test}
  speed: 0,                 // epochs per second, from the newest frame
  lossName: "squared",      // which loss the frames' losses are (shown by the losses' header)
  hasAccuracy: false,       // classification frames carry accuracies
  hidden: new Set(),        // control names hidden by the link's `<name>_hide=true` (the server reads the link)
  preview: null,            // an inactive feature's full-size map, shown in the big map while it is hovered
  featureMaps: null,        // the seven features' full-size maps (GET /feature-maps), once loaded
  lastHeatmap: null,        // the newest frame's big map, to show again when a preview ends
  liveFrame: null,          // the newest live frame while a checkpoint is shown (time travel)
};

const connection = new Connection({
  connect: onConnect,
  disconnect: () => banner.lost(),
  map_update: onMapUpdate,
  dataset: onDataset,
  state: (state) => { setStatus(state.status); setEpoch(state.epoch); showStopReason(state.reason); },
  seed_update: (update, ack) => seedPanel.onUpdate(update, ack),
  class_state: (state) => classBar.state(state),
  error: (error) => (error.event === "connect" && error.field === "connection" ? banner.serverFull()
    : errors.show(error)),
  service: (service) => serviceNotice.update(service),
});

const sync = new ConfigSync(connection, { onAccepted: configAccepted, onRejected: () => renderConfig() });
const classBar = new ClassBar({ send, onConfig: (reply) => sync.acceptFrom(reply) });

const renderControls = buildControls(document, table, changeConfig, {
  extraRoot: $("#more-options"),
  placedElsewhere: [...FEATURES, "dataset", "regDataset", "networkShape"],
});
const ownData = new OwnData({ root: $("#own-data"), plot: $("#heatmap .plot"), heatmap: $("#heatmap"), send });
const renderDatasets = buildDatasetPicker($("#datasets"), table, pageData.datasetThumbnails, changeConfig);

const seedPanel = new SeedPanel({
  root: $("#seed-runs"),
  chart,
  send,
  lookup: () => currentLookup(),
  onAdopted: () => { resetChart(); scheduleDraw(); },
  stats,
});
const timeline = new Timeline($("#timeline"), table, pageData.branchOptions, send, {
  showCheckpoint,
  showLive,
  forked: () => loadHistory(),
});
const drafts = new DraftKeeper();
const savePanel = new SavePanel($("#saving"), pageData.saving, send);

const featureOptions = FEATURES.map((name) => ({ name, label: table.get(name)?.label ?? name }));
const diagram = new NetworkDiagram($("#network"), {
  features: featureOptions,
  featureBytes: base64Bytes(pageData.featureThumbnails),
  hooks: {
    toggleFeature: (name, on) => changeConfig({ [name]: on }),
    focus: setFocus,
    previewFeature,
    changeNeurons,
    editParameter: (change) => send("set_weight", change),
  },
});

function currentLookup() {
  return sync.desired().discretize ? lookups.discrete : lookups.plain;
}

// --- config -------------------------------------------------------------------------------------------------

/** A user change: shown at once, sent to the server, and put back if the server refuses it. */
function changeConfig(changes) {
  sync.change(changes);
  renderConfig();
}

function changeNeurons(layer, delta) {
  const shape = [...sync.desired().networkShape];
  const [low, high] = LAYER_LIMITS.neurons;
  const size = shape[layer] + delta;
  if (size < low || size > high) return;
  shape[layer] = size;
  changeConfig({ networkShape: shape });
}

function changeLayers(delta) {
  const shape = [...sync.desired().networkShape];
  const [low, high] = LAYER_LIMITS.layers;
  if (shape.length + delta < low || shape.length + delta > high) return;
  if (delta > 0) shape.push(LAYER_LIMITS.newLayer);
  else shape.pop();
  changeConfig({ networkShape: shape });
}

function configAccepted(config, reply) {
  stats.configs++;
  stats.configFrame = stats.framesReceived;
  banner.connected();
  document.body.classList.remove("awaiting-config");
  if (reply?.reset) resetChart();
  if (typeof reply?.hash === "string") history.replaceState(null, "", reply.hash);
  drafts.write();
  if (reply?.reset && timeline.scrubbing) timeline.live();
  timeline.setConfig(config);
  classBar.configAccepted(reply?.hash);
  if (Array.isArray(reply?.hidden)) hideControls(reply.hidden);
  for (const notice of reply?.notices ?? []) errors.notice(notice);
  renderConfig();
}

/** `<control>_hide=true` in the link hides `.ui-<control>` elements, as TF does. */
function hideControls(names) {
  view.hidden = new Set(names);
  for (const element of document.querySelectorAll(".ui-hidden")) element.classList.remove("ui-hidden");
  for (const name of names) {
    for (const element of document.querySelectorAll(`.ui-${CSS.escape(name)}`)) element.classList.add("ui-hidden");
  }
}

/** Controls show where the user is heading (accepted config + changes on their way). */
function renderConfig() {
  const config = sync.desired();
  if (!config.networkShape) return;           // nothing accepted yet
  renderControls(config);
  renderDatasets(config);
  const layers = config.networkShape.length;
  $("#num-layers").textContent = String(layers);
  $("#layers-label").textContent = layers === 1 ? "Hidden layer" : "Hidden layers";
  $("#add-layers").disabled = layers >= LAYER_LIMITS.layers[1];
  $("#remove-layers").disabled = layers <= LAYER_LIMITS.layers[0];
  document.body.classList.toggle("hide-text", Boolean(config.hideText));
  // Controls that mean nothing in this config step aside: momentum only for SGD with momentum, the loss choice
  // only for classification (regression always uses the squared error).
  $(".ui-momentum[data-option]").hidden = config.optimizer !== "momentum";
  $(".ui-loss[data-option]").hidden = config.problem === "regression";
  $("#run-seeds").textContent = `Run with ${config.seedRuns} seeds`;
  ownData.setProblem(config.problem);
  outputMap.setShowTest(Boolean(config.showTestData));
  const lookup = currentLookup();
  if (lookup !== view.lookup) {
    view.lookup = lookup;
    view.repaintAll = true;
    if (view.lastFrame) { pendingFrame = pendingFrame || view.lastFrame; scheduleDraw(); }
    seedPanel.repaint();
  }
}

// --- connection -----------------------------------------------------------------------------------------------

async function onConnect() {
  const wasRunning = view.status === "running";
  view.sentFocus = null;          // a new session shows the output
  view.wantedFocus = null;
  view.focusInFlight = false;
  diagram.resetFocus();
  seedPanel.hide();               // a seed run belongs to the connection that started it
  if (timeline.scrubbing) timeline.live();
  const restartIfRunning = () => { if (wasRunning && view.status !== "running") send("start_training"); };
  // A new connection is a new session. First the learner's draft (their own data and trained run, kept by the
  // server across a reload or a restart) if this address still shows it; else the saved experiment the address
  // names (/e/<id>); else the address's link (the server's own link of the last accepted config, seed included),
  // which brings the same experiment back, with the changes still pending after it.
  let resumed = null;
  try {
    resumed = await connection.request("resume", { draft: drafts.wanted() });
  } catch {
    resumed = null;               // not connected any more: the next connection tries again
  }
  if (resumed?.ok) drafts.remember(resumed.draft);
  if (resumed?.ok && resumed.restored) {
    sync.acceptFrom(resumed);
    loadHistory();
    restartIfRunning();
    return;
  }
  const savedId = savedIdOfAddress();
  if (savedId) {
    const opened = await send("open_experiment", { id: savedId });
    if (opened?.ok) {
      savePanel.show(opened.title, opened.note);
      loadHistory();
      return;
    }
  }
  sync.openLink(location.hash).then((reply) => {
    if (reply && !reply.ok) sync.openLink("");       // a link the server cannot read at all: its defaults
    else if (reply) restartIfRunning();
    if (reply) classBar.connected();                // then back in the class, if the page was in one
  });
}

/** The chart from the server's history: the current branch's losses along its whole line, the other branches
 * dashed from where they forked, each in the legend with what it changed. */
async function loadHistory() {
  const reply = await send("get_history");
  if (!reply?.ok) return;
  resetChart();
  const others = [];
  let last = null;
  reply.branches.forEach((branch, index) => {
    const losses = branchLosses(branch.losses);
    if (branch.id !== reply.current) {
      others.push({ ...losses, color: BRANCH_COLORS[index % BRANCH_COLORS.length] });
      return;
    }
    const finite = (value) => (Number.isFinite(value) ? value : null);
    losses.epochs.forEach((epoch, i) => {
      last = { epoch, train: finite(losses.train[i]), test: finite(losses.test[i]) };
      chart.add(last.epoch, last.train, last.test);
    });
  });
  chart.setBranches(others);
  timeline.showBranches(reply.branches, reply.current);
  view.chartLast = last;
  stats.histories++;
  scheduleDraw();
}

/** Time travel: a checkpoint's frame, drawn by the server from it; live frames wait (acknowledged) meanwhile. */
function showCheckpoint(payload) {
  decodeFrame(payload).then((frame) => {
    if (!timeline.scrubbing) return;
    view.repaintAll = true;
    drawFrame(frame, false);
    stats.checkpointsDrawn++;
  }, (error) => console.error("decoding a checkpoint's frame failed", error));
}

function showLive() {
  view.repaintAll = true;
  pendingFrame = pendingFrame || view.liveFrame || view.lastFrame;
  view.liveFrame = null;
  scheduleDraw();
}

/** Send a request; its reply's config (reset, regenerate) updates the page. Errors arrive as `error` events. */
async function send(event, payload) {
  try {
    const reply = await connection.request(event, payload);
    if (reply?.ok) {
      if (reply.status) setStatus(reply.status);
      if (typeof reply.epoch === "number" && event !== "scrub") setEpoch(reply.epoch);   // a scrub's is then's
      if (reply.config) sync.acceptFrom(reply);
    }
    return reply;
  } catch (error) {
    if (!(error instanceof NotConnected)) {
      errors.show({ event, message: `The server did not answer ${event} in time; it may be busy. Try again.` });
    }
    return null;
  }
}

function setFocus(node, label) {
  showFocusLabel(node === null ? null : label);
  view.wantedFocus = node;
  sendFocus();
}

function showFocusLabel(label) {
  $("#focus-label").textContent = label === null ? "" : `Showing ${label}`;
  $("#heatmap").classList.toggle("focused", label !== null);
}

/** An inactive feature is not in the network, so frames do not carry its map: the page shows its full-size map
 * from GET /feature-maps while it is hovered, and the focused node's map again when it is left. */
function previewFeature(name) {
  const at = FEATURES.indexOf(name);
  view.preview = name && view.featureMaps ? view.featureMaps.subarray(at * MAP_BYTES, (at + 1) * MAP_BYTES) : null;
  if (view.preview) {
    const label = table.get(name)?.label ?? name;
    showFocusLabel(`input ${label}, not in the network`);
    outputMap.paint(view.preview, currentLookup());
  } else {
    const focused = diagram.focusedNode();
    showFocusLabel(focused === null || focused === undefined ? null : diagram.focusLabel(focused));
    if (view.lastHeatmap) outputMap.paint(view.lastHeatmap, currentLookup());
  }
}

async function loadFeatureMaps() {
  try {
    const response = await fetch("/feature-maps");
    if (response.ok) view.featureMaps = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    console.warn("the features' maps did not load; hovering an inactive feature shows nothing", error);
  }
}

/** One set_focus in flight at a time, the latest wanted node next: a mouse sweeping over the diagram sends a few
 * events, not one per node crossed (the server limits events per second). */
async function sendFocus() {
  if (view.focusInFlight || view.wantedFocus === view.sentFocus) return;
  const node = view.wantedFocus;
  view.focusInFlight = true;
  await send("set_focus", { node });
  view.focusInFlight = false;
  view.sentFocus = node;
  sendFocus();
}

function setStatus(status) {
  view.status = status;
  const playing = status === "running";
  const button = $("#play-pause-button");
  button.classList.toggle("playing", playing);
  button.setAttribute("aria-label", playing ? "Pause training (Space)" : "Start training (Space)");
  button.setAttribute("aria-pressed", String(playing));
  divergence.update(status);
  if (!playing) showSpeed(0);
}

/** Say why training stopped by itself (a stop rule); the note goes when training starts again. */
function showStopReason(reason) {
  const note = $("#stop-reason");
  note.hidden = !reason;
  note.textContent = reason ? `Training ${reason} (a stop rule in the pace settings).` : "";
}

function setEpoch(epoch) {
  if (epoch === view.epoch) return;
  view.epoch = epoch;
  $("#iter-number").textContent = formatEpoch(epoch);
  timeline.setEpoch(epoch);
}

// --- frames ---------------------------------------------------------------------------------------------------

function onMapUpdate(payload, ack) {
  const received = ++stats.framesReceived;
  addChartPoint(payload);  // the chart is drawn with the frame, in the same animation frame
  decodeFrame(payload).then((frame) => {
    frame.received = received;
    pendingFrame = frame;
    if (typeof ack === "function") pendingAcks.push(ack);
    scheduleDraw();
  }, (error) => {
    // Nothing to draw: acknowledge at once, so the next frame comes, and say so.
    console.error("decoding a frame failed", error);
    errors.show({ event: "map_update", message: `A frame from the server could not be decoded (${error.message})` });
    if (typeof ack === "function") ack();
  });
}

function scheduleDraw() {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(draw);
}

/** At most once per animation frame: the newest frame, then the chart; acknowledge only after drawing. */
function draw() {
  drawScheduled = false;
  const frame = pendingFrame, acks = pendingAcks;
  pendingFrame = null;
  pendingAcks = [];
  try {
    if (frame && timeline.scrubbing) {
      view.liveFrame = frame;                    // shown when the learner comes back to now
      setEpoch(frame.epoch);
    } else if (frame) drawFrame(frame);
    // While training, the chart (like the numbers) is redrawn on every other frame; its points keep coming in
    // between, and any frame of a stopped session draws it.
    if (!frame || frame.status !== "running" || stats.framesDrawn % 2 === 1) chart.draw();
  } catch (error) {
    console.error("drawing a frame failed", error);
  } finally {
    for (const ack of acks) {
      try { ack(); } catch (error) { console.error(error); }
    }
  }
}

/** A live frame, or (`live` false) a checkpoint's: that one leaves the counters and the play button alone. */
function drawFrame(frame, live = true) {
  const heatmap = asBytes(frame.heatmap), thumbnails = asBytes(frame.thumbnails);
  const lookup = currentLookup();
  if (diagram.setStructure(frame.layerSizes, frame.features, view.hidden)) {
    view.repaintAll = true;
    if (view.preview) previewFeature(null);      // its node went with the old structure, and never sees the pointer go
    if (view.wantedFocus !== null || view.sentFocus !== null) setFocus(null, null);
  }
  view.lastHeatmap = heatmap;
  outputMap.paint(view.preview ?? heatmap, lookup);
  diagram.update(frame, thumbnails, lookup, view.repaintAll);
  view.repaintAll = false;
  // While training, numbers that change every frame (and the flowing dashes) are written on every other frame:
  // 15 changes a second read the same, and each write costs a layout and a repaint of its own region.
  // Any frame of a stopped session writes them all, so what stays on screen is exact.
  const running = frame.status === "running";
  if (!live) {
    setText("#loss-train", formatLoss(frame.trainLoss));
    setText("#loss-test", formatLoss(frame.testLoss));
    showAccuracy(frame.trainAccuracy, frame.testAccuracy);
    return;
  }
  if (!running || stats.framesDrawn % 2 === 0) {
    setEpoch(frame.epoch);
    setText("#loss-train", formatLoss(frame.trainLoss));
    setText("#loss-test", formatLoss(frame.testLoss));
    showLossName(frame.loss);
    showAccuracy(frame.trainAccuracy, frame.testAccuracy);
    showSpeed(running ? view.speed : 0);
    if (running) {
      view.flowOffset -= 1.32;     // TF's flowing dashes at TF's speed (1/3 px per epoch at 60 epochs/s)
      diagram.flow(view.flowOffset.toFixed(2));
    }
  }
  if (frame.status !== view.status) setStatus(frame.status);
  view.lastFrame = frame;
  stats.framesDrawn++;
  stats.drawnFrame = frame.received;
  stats.drawnStatus = frame.status;
}

/** Epochs per second under the counter; rounded to tens above 100 so the text (and layout) rarely changes. */
function showSpeed(speed) {
  const shown = !(speed > 0) ? "" : speed >= 100 ? `${Math.round(speed / 10) * 10} epochs/s`
    : `${Math.round(speed)} epochs/s`;
  setText("#speed", shown);
}

const LOSS_NAMES = { squared: "(squared)", crossEntropy: "(cross-entropy)" };

/** Beyond TF: which loss the numbers are, from the frame's `loss`; written only when it changes. */
function showLossName(name) {
  if (!name || name === view.lossName) return;
  view.lossName = name;
  setText("#loss-kind", LOSS_NAMES[name] ?? `(${name})`);
}

/** Beyond TF: the share of points on the right side, when the server sends it (classification); the column is
 * hidden for regression, whose frames carry null. */
function showAccuracy(train, test) {
  const known = typeof train === "number";
  if (known !== view.hasAccuracy) {
    view.hasAccuracy = known;
    $("#metrics").classList.toggle("with-accuracy", known);
  }
  if (!known) return;
  const percent = (value) => typeof value === "number" ? `${(100 * value).toFixed(1)}%` : "–";
  setText("#accuracy-train", percent(train));
  setText("#accuracy-test", percent(test));
}

function setText(selector, text) {
  const element = $(selector);
  if (element.textContent !== text) element.textContent = text;
}

function resetChart() {
  chart.clear();
  timeline.showBranches([], null);
  view.chartLast = null;
}

const STEP_FIELDS = ["epoch", "trainLoss", "testLoss", "trainAccuracy", "testAccuracy", "loss", "epochsPerSecond"];

/** One chart point per frame of a new step; epoch 0 or a smaller epoch starts a new chart (a reset), and a frame
 * that only re-renders (a focus change while paused) adds nothing. */
function addChartPoint(result) {
  const last = view.chartLast;
  if (last && last.epoch === result.epoch && last.train === result.trainLoss && last.test === result.testLoss) return;
  stats.lastStep = Object.fromEntries(STEP_FIELDS.map((name) => [name, result[name]]));
  if (!last || result.epoch < last.epoch || result.epoch === 0) resetChart();
  chart.add(result.epoch, result.trainLoss, result.testLoss);
  view.speed = result.epochsPerSecond;
  view.chartLast = { epoch: result.epoch, train: result.trainLoss, test: result.testLoss };
}

function onDataset(data) {
  const bytes = asBytes(data.points);
  // Float32Array needs a 4-byte aligned offset; copy when the attachment is not.
  const points = bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
    : new Float32Array(bytes.slice().buffer);
  outputMap.setData(points, data.trainCount);
  stats.trainCount = data.trainCount;
  stats.testCount = data.testCount;
  ownData.setCounts(data.trainCount, data.testCount);
}

// --- user actions ---------------------------------------------------------------------------------------------

const playPause = () => send(view.status === "running" ? "stop_training" : "start_training");
const step = () => send("step");
const reset = () => send("reset");
const restartSame = () => send("reset", { sameWeights: true });

/** "Run with K seeds": K and the data as the controls show them (changes on their way included). */
async function runSeeds() {
  const { seedRuns, seedData } = sync.desired();
  seedPanel.start(seedRuns);
  seedPanel.started(await send("run_seeds", { seedRuns, seedData }));
}

$("#play-pause-button").addEventListener("click", playPause);
$("#next-step-button").addEventListener("click", step);
$("#reset-button").addEventListener("click", reset);
$("#restart-same-button").addEventListener("click", restartSame);
$("#log-scale").addEventListener("change", (event) => { chart.setLog(event.target.checked); scheduleDraw(); });
$("#divergence-reset").addEventListener("click", reset);
$("#run-seeds").addEventListener("click", runSeeds);
$("#data-regen-button").addEventListener("click", () => send("regenerate"));
$("#add-layers").addEventListener("click", () => changeLayers(+1));
$("#remove-layers").addEventListener("click", () => changeLayers(-1));
installShortcuts({ playPause, step, reset, restartSame });
installFiles({
  send,
  showError: (error) => errors.show(error),
  onNetworkImported: (reply) => { resetChart(); sync.acceptFrom(reply); },
});

// A hash edited by hand applies like a pasted link (our own updates use replaceState and fire no event).
window.addEventListener("hashchange", () => {
  if (connection.connected) sync.openLink(location.hash);
});

// Until the server sends a config, the controls have no values to show (CSS hides them).
document.body.classList.add("awaiting-config");
loadFeatureMaps();
banner.lost();
setStatus("stopped");
