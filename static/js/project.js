// The projector: the run the teacher spotlights, full screen and read-only, for the whole room to see. A teacher
// page: it needs the teacher key this browser keeps (classroom.js).
import { teacherKey } from "./classroom.js";
import { Connection } from "./connection.js";
import { RunView } from "./runview.js";

const $ = (selector) => document.querySelector(selector);
const pageData = JSON.parse($("#page-data").textContent);
const code = document.body.dataset.code;
const run = new RunView($("#spotlight"), pageData);
let spotlit = null;

const shown = (handler) => (payload, done) => {
  if (spotlit) handler(payload, done);
  else if (typeof done === "function") done();
};

const connection = new Connection({
  connect: claim,
  disconnect: () => { $("#wall-status").textContent = "Reconnecting…"; },
  spotlight: ({ member, name }) => show(member, name),
  map_update: shown((payload, done) => run.frame(payload, done)),
  dataset: (data) => run.dataset(data),           // it comes before the spotlight's notice
});

async function claim() {
  const key = teacherKey(code);
  const reply = key ? await connection.request("teach", { code, key, page: "projector" }).catch(() => null) : null;
  $("#wall-status").textContent = reply?.ok ? "" : "This browser has no teacher key for this class.";
  if (reply?.ok) {
    const member = reply.room.spotlight;
    const name = reply.room.members.find((entry) => entry.member === member)?.name ?? null;
    show(member, name);
  }
}

function show(member, name) {
  if (member !== spotlit) run.clear();
  spotlit = member;
  $("#spotlight").hidden = !member;
  $("#spotlight-name").textContent = member ? name : "Waiting for the teacher to spotlight a run";
}
