// The teacher's wall: one live tile per learner (the output thumbnail, name, epoch, test loss, status), the class
// view, the leaderboard and the teacher's controls. A tile opens that learner's run full size, read-only
// (runview.js). The teacher key comes from this browser's localStorage (classroom.js), kept when the class started.
import { teacherKey, teacherLink } from "./classroom.js";
import { asBytes, byteLookup } from "./colors.js";
import { Connection } from "./connection.js";
import { element } from "./dom.js";
import { formatLoss } from "./format.js";
import { PixelMap } from "./heatmap.js";
import { ErrorList } from "./notices.js";
import { RunView } from "./runview.js";

const $ = (selector) => document.querySelector(selector);
const pageData = JSON.parse($("#page-data").textContent);
const optionLabels = Object.fromEntries(pageData.options.map((option) => [option.name, option.label]));
const code = document.body.dataset.code;
const key = teacherKey(code);
const errors = new ErrorList($("#errors"));
const lookup = byteLookup();
const run = new RunView($("#detail"), pageData);
const tiles = new Map();          // member -> {root, map, data}
const view = { detail: null, sort: "testLoss", lastWall: null };
window.__wallStats = { walls: 0, tiles: 0 };

const ack = (handler) => (payload, done) => {
  if (view.detail) handler(payload, done);
  else if (typeof done === "function") done();
};

const connection = new Connection({
  connect: claim,
  disconnect: () => status("Reconnecting…"),
  wall: showWall,
  roster: ({ members }) => { if (!members.length && view.lastWall) status("The class is closed."); },
  map_update: ack((payload, done) => run.frame(payload, done)),
  dataset: (data) => run.dataset(data),           // it comes before watch_member's reply
  error: (error) => errors.show(error),
});

function status(text) {
  $("#wall-status").textContent = text;
}

async function send(event, payload) {
  try {
    return await connection.request(event, payload);
  } catch (error) {
    return null;
  }
}

async function claim() {
  if (!key) {
    status("This browser has no teacher key for this class: open the wall from the playground that started it.");
    return;
  }
  const reply = await send("teach", { code, key, page: "wall" });
  if (!reply?.ok) { status("This class has ended or this is not its teacher's browser."); return; }
  status("Live");
  showRoom(reply.room);
  if (view.detail) openDetail(view.detail);
}

function showRoom(room) {
  $("#join-link").textContent = room.link;
  $("#join-qr").src = room.qr;
  $("#projector-link").href = `/project/${code}`;
  const locks = $("#locks");
  locks.replaceChildren(...room.lockable.map((name) => {
    const label = element("label", "checkbox small");
    const box = element("input");
    box.type = "checkbox";
    box.value = name;
    box.checked = room.locks.includes(name);
    box.addEventListener("change", sendLocks);
    label.append(box, ` ${optionLabels[name] ?? name}`);
    return label;
  }));
  showChallenge(room.challenge);
}

function sendLocks() {
  const locks = [...document.querySelectorAll("#locks input:checked")].map((box) => box.value);
  send("lock_settings", { locks });
}

function showChallenge(challenge) {
  $("#challenge-shown").textContent = !challenge ? "none set" : `now: ${challenge.dataset}, `
    + (challenge.maxHiddenNeurons ? `at most ${challenge.maxHiddenNeurons} hidden neurons, ` : "")
    + (challenge.belowTestLoss !== null ? `test loss below ${challenge.belowTestLoss}`
      : `test accuracy above ${challenge.aboveTestAccuracy}`);
}

// --- the wall -------------------------------------------------------------------------------------------------

function showWall(wall) {
  view.lastWall = wall;
  window.__wallStats.walls++;
  window.__wallStats.tiles += wall.tiles.length;
  const maps = asBytes(wall.maps);
  const seen = new Set();
  wall.tiles.forEach((data, index) => {
    seen.add(data.member);
    const tile = tiles.get(data.member) ?? makeTile(data.member);
    tile.data = data;
    tile.map.paint(maps, index * 100, lookup);
    tile.root.querySelector(".tile-name").textContent = data.name;
    tile.root.querySelector(".tile-epoch").textContent = `epoch ${data.epoch}`;
    tile.root.querySelector(".tile-loss").textContent = `test loss ${formatLoss(data.testLoss)}`;
    tile.root.querySelector(".tile-status").textContent = data.status + (data.stuck ? ", stuck" : "");
    tile.root.dataset.status = data.status;
    tile.root.classList.toggle("reached", data.reached);
    tile.root.classList.toggle("stuck", data.stuck);
  });
  for (const [member, tile] of tiles) {
    if (!seen.has(member)) { tile.root.remove(); tiles.delete(member); }
  }
  sortTiles();
  $("#tile-count").textContent = `${wall.tiles.length} learner${wall.tiles.length === 1 ? "" : "s"}`;
  showSummary(wall.summary);
  showLeaderboard(wall.leaderboard);
}

function makeTile(member) {
  const root = element("button", "tile");
  root.type = "button";
  root.dataset.member = member;
  const canvas = element("canvas", "tile-map");
  root.append(canvas, element("span", "tile-name"), element("span", "tile-epoch"), element("span", "tile-loss"),
              element("span", "tile-status"), element("span", "tile-reached", "reached the challenge"));
  root.addEventListener("click", () => openDetail(member));
  const tile = { root, map: new PixelMap(canvas, 10), data: null };
  tiles.set(member, tile);
  $("#tiles").append(root);
  return tile;
}

function sortTiles() {
  const order = [...tiles.values()].sort((a, b) => {
    if (view.sort === "name") return a.data.name.localeCompare(b.data.name);
    if (view.sort === "joinedAt") return a.data.joinedAt - b.data.joinedAt;
    return (a.data.testLoss ?? Infinity) - (b.data.testLoss ?? Infinity);
  });
  const container = $("#tiles");
  order.forEach((tile, index) => {
    if (container.children[index] !== tile.root) container.insertBefore(tile.root, container.children[index] ?? null);
  });
}

function showSummary(summary) {
  const spread = summary.testLoss;
  const tried = Object.entries(summary.triedMost)
    .map(([name, { value, runs }]) => `${optionLabels[name] ?? name} ${value} (${runs})`).join(", ");
  const lines = [
    `Diverged: ${summary.diverged} of ${summary.runs}`,
    `Stuck (loss flat and high): ${summary.stuck}`,
    spread ? `Test loss: best ${formatLoss(spread.min)}, median ${formatLoss(spread.median)}, worst ${formatLoss(spread.max)}`
      : "Test loss: no run yet",
    `Tried most: ${tried || "–"}`,
  ];
  const list = $("#summary");
  lines.forEach((text, index) => {
    const item = list.children[index] ?? list.appendChild(element("li"));
    if (item.textContent !== text) item.textContent = text;
  });
}

function showLeaderboard(entries) {
  const list = $("#leaderboard");
  const text = entries.map((entry) => `${entry.name}: ${entry.epochs} epochs, ${entry.hiddenNeurons} hidden neurons`);
  if (list.dataset.text === text.join("|")) return;
  list.dataset.text = text.join("|");
  list.replaceChildren(...text.map((line) => element("li", "", line)));
}

// --- one run full size ----------------------------------------------------------------------------------------

async function openDetail(member) {
  view.detail = member;                 // its frames may come before the reply
  run.clear();
  const reply = await send("watch_member", { member });
  if (!reply?.ok) { view.detail = null; return; }
  $("#detail-name").textContent = reply.name;
  $("#detail").hidden = false;
  $("#detail").scrollIntoView({ block: "start" });
}

async function closeDetail() {
  view.detail = null;
  $("#detail").hidden = true;
  await send("watch_member", { member: null });
}

// --- the teacher's controls -----------------------------------------------------------------------------------

for (const name of pageData.options.find((option) => option.name === "dataset").choices) {
  const option = element("option", "", name);
  option.value = name;
  $("#challenge-dataset").append(option);
}
$("#push").addEventListener("click", () => send("push_config", { hash: teacherLink(), fixSeed: $("#fix-seed").checked }));
$("#pause-all").addEventListener("click", () => send("pause_all"));
$("#resume-all").addEventListener("click", () => send("resume_all"));
$("#close-class").addEventListener("click", async () => {
  if (!confirm("Close the class? Everyone leaves it and their names are deleted.")) return;
  const reply = await send("close_class");
  if (reply?.ok) status("The class is closed.");
});
$("#save-gallery").addEventListener("click", async () => {
  const reply = await send("save_gallery", { names: $("#gallery-names").checked });
  if (!reply?.ok) return;
  const link = $("#gallery-link");
  link.href = reply.url;
  const runs = `${reply.runs.length} run${reply.runs.length === 1 ? "" : "s"}`;
  link.textContent = `The gallery of ${runs}: ${location.origin}${reply.url}`;
  link.hidden = false;
});
$("#sort").addEventListener("change", (event) => { view.sort = event.target.value; sortTiles(); });
$("#challenge").addEventListener("submit", async (event) => {
  event.preventDefault();
  const neurons = $("#challenge-neurons").value;
  const challenge = { dataset: $("#challenge-dataset").value, maxHiddenNeurons: neurons ? Number(neurons) : null,
                      [$("#challenge-kind").value]: Number($("#challenge-target").value) };
  const reply = await send("set_challenge", { challenge });
  if (reply?.ok) showChallenge(reply.challenge);
});
$("#challenge-clear").addEventListener("click", async () => {
  const reply = await send("set_challenge", { challenge: null });
  if (reply?.ok) showChallenge(null);
});
$("#detail-close").addEventListener("click", closeDetail);
$("#detail-spotlight").addEventListener("click", () => send("spotlight", { member: view.detail }));
$("#detail-remove").addEventListener("click", async () => {
  const reply = await send("remove_member", { member: view.detail });
  if (reply?.ok) closeDetail();
});
