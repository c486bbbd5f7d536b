// Time travel under the loss chart: a timeline to drag through the run's checkpoints (the server draws each one,
// the live run goes on untouched), "continue from here" to fork the run at the checkpoint shown, with the rates a
// branch may change (their controls built from the options table, like the page's own), and the branches' legend.
import { buildControls } from "./controls.js";
import { element } from "./dom.js";
import { BRANCH_COLORS } from "./linechart.js";

export class Timeline {
  /**
   * root: the timeline's element; branchOptions: the options a branch may change (page data); send(event, payload):
   * a request; hooks: showCheckpoint(frame payload) while scrubbing, showLive() when back to now,
   * forked(reply) after a fork.
   */
  constructor(root, table, branchOptions, send, hooks) {
    this.root = root;
    this.send = send;
    this.hooks = hooks;
    this.range = root.querySelector("#timeline-range");
    this.status = root.querySelector("#timeline-status");
    this.forkForm = root.querySelector("#timeline-fork");
    this.legend = document.querySelector("#chart-branches");
    this.idleText = this.status.textContent;
    this.wanted = null;          // the epoch the range asks for
    this.inFlight = false;
    this.shown = null;           // the checkpoint's epoch on screen (null: the live run)
    this.changes = {};           // the fork's changes, as its controls are set
    const holders = root.querySelector("#timeline-options");
    for (const name of branchOptions) {
      const holder = element("div", "branch-option");
      holder.dataset.option = name;
      holders.append(holder);
    }
    this.renderOptions = buildControls(holders, table, (changes) => Object.assign(this.changes, changes), {
      extraRoot: null,
      placedElsewhere: [],
    });
    // Built: `[data-option]` means the page's own control of an option (CSS, tests), so these holders drop it.
    for (const holder of holders.children) {
      holder.dataset.branchOption = holder.dataset.option;
      delete holder.dataset.option;
    }
    this.range.addEventListener("input", () => { this.wanted = Number(this.range.value); this.scrub(); });
    root.querySelector("#fork-button").addEventListener("click", () => this.fork());
    root.querySelector("#live-button").addEventListener("click", () => this.live());
  }

  /** The live run is at `epoch`: the range reaches it (and follows it while not scrubbing). */
  setEpoch(epoch) {
    this.range.max = String(epoch);
    if (this.shown === null) this.range.value = String(epoch);
  }

  /** The options of the config now, for the fork's controls. */
  setConfig(config) {
    if (this.shown === null) {
      this.changes = {};
      this.renderOptions(config);
    }
    // As on the page's own controls: momentum means something only for SGD with momentum.
    const momentum = this.root.querySelector("[data-branch-option=momentum]");
    if (momentum) momentum.hidden = config.optimizer !== "momentum";
  }

  /** One scrub in flight at a time, the latest wanted epoch next (the server limits events per second). */
  async scrub() {
    if (this.inFlight || this.wanted === null) return;
    const epoch = this.wanted;
    this.wanted = null;
    this.inFlight = true;
    const reply = await this.send("scrub", { epoch });
    this.inFlight = false;
    if (reply?.ok) {
      this.shown = reply.epoch;
      this.status.textContent = `Showing epoch ${reply.epoch.toLocaleString("en")} (a checkpoint); the run goes on.`;
      this.root.classList.add("scrubbing");
      this.forkForm.hidden = false;
      this.hooks.showCheckpoint(reply.frame);
    }
    this.scrub();
  }

  async fork() {
    if (this.shown === null) return;
    const reply = await this.send("fork", { epoch: this.shown, changes: this.changes });
    if (reply?.ok) {
      this.leave();
      this.hooks.forked(reply);
    }
  }

  live() {
    this.leave();
    this.hooks.showLive();
  }

  leave() {
    this.shown = null;
    this.wanted = null;
    this.changes = {};
    this.status.textContent = this.idleText;
    this.root.classList.remove("scrubbing");
    this.forkForm.hidden = true;
    this.range.value = this.range.max;
  }

  get scrubbing() {
    return this.shown !== null;
  }

  /** The legend: each branch's colour and what it changed (the current one is the chart's solid curves). */
  showBranches(branches, current) {
    this.legend.replaceChildren();
    if (branches.length < 2) return;
    branches.forEach((branch, index) => {
      const item = element("li", branch.id === current ? "current" : "");
      const swatch = element("span", "swatch-line");
      swatch.style.borderColor = branch.id === current ? "#000" : BRANCH_COLORS[index % BRANCH_COLORS.length];
      item.append(swatch, element("span", "branch-label", branch.label || "the first run"));
      if (branch.id === current) item.append(element("span", "branch-note", " (training, solid)"));
      this.legend.append(item);
    });
  }
}

/** A get_history branch's `losses` bytes -> {epochs, train, test} (NaN where a loss was not finite). */
export function branchLosses(bytes) {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  const values = new Float64Array(view.slice().buffer);
  const count = values.length / 3;
  return { epochs: values.subarray(0, count), train: values.subarray(count, 2 * count),
           test: values.subarray(2 * count) };
}
