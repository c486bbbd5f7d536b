// The playground's class bar: start a class (the teacher), join one by code or link (a learner), and what the
// class means for this page: its locked settings, a pushed config, a pause. The keys stay in localStorage, so a
// reload or a server restart puts the teacher and the learner back (docs/protocol.md, "Classroom").
const LEARNER = "nnp.class.learner";      // {code, key, name}
const TEACHER = "nnp.class.teacher";      // {code, key}
const TEACHER_LINK = "nnp.class.teacherLink";   // the teacher's playground link, which the wall pushes

const $ = (selector) => document.querySelector(selector);

function stored(name) {
  try { return JSON.parse(localStorage.getItem(name) || "null"); } catch { return null; }
}

export function teacherKey(code) {
  const teacher = stored(TEACHER);
  return teacher && teacher.code === code ? teacher.key : null;
}

export function teacherLink() {
  return localStorage.getItem(TEACHER_LINK) || "";
}

/** The controls an option's lock covers on the playground page. */
function lockedElements(name) {
  const selectors = [`[data-option="${CSS.escape(name)}"]`, `.ui-${CSS.escape(name)}`];
  if (name === "networkShape") selectors.push(".ui-numHiddenLayers", ".layer-controls");
  return document.querySelectorAll(selectors.join(", "));
}

export class ClassBar {
  /** send(event, payload) -> reply; onConfig(reply): a pushed config to accept like a reply's. */
  constructor({ send, onConfig }) {
    this.send = send;
    this.onConfig = onConfig;
    this.locks = [];
    const joining = location.pathname.match(/^\/join\/([^/]+)$/);
    if (joining) $("#class-code").value = decodeURIComponent(joining[1]);
    $("#class-start").addEventListener("click", () => this.start());
    $("#class-join").addEventListener("submit", (event) => { event.preventDefault(); this.join(); });
    $("#class-leave").addEventListener("click", () => this.leave());
    $("#class-push").addEventListener("click", () => this.push());
    this.render();
    if (joining && !stored(LEARNER)) $("#class-name").focus();
  }

  /** On every (re)connection, after the page's link: back in the class as teacher or learner. */
  async connected() {
    const teacher = stored(TEACHER), learner = stored(LEARNER);
    if (teacher) {
      const reply = await this.send("teach", { code: teacher.code, key: teacher.key, page: "playground" });
      if (reply && !reply.ok && ["code", "key"].includes(reply.error?.field)) this.forget(TEACHER, "Your class has ended.");
      else if (reply?.ok) this.showRoom(reply.room);
    }
    if (learner) {
      const reply = await this.send("rejoin_class", { code: learner.code, key: learner.key });
      if (reply && !reply.ok && ["code", "key"].includes(reply.error?.field)) this.forget(LEARNER, "You are no longer in the class.");
    }
    this.render();
  }

  /** The teacher's playground keeps its link where the wall reads it (push config). */
  configAccepted(hash) {
    if (stored(TEACHER) && typeof hash === "string") localStorage.setItem(TEACHER_LINK, hash);
  }

  async start() {
    const reply = await this.send("start_class");
    if (!reply?.ok) return;
    localStorage.setItem(TEACHER, JSON.stringify({ code: reply.room.code, key: reply.key }));
    localStorage.setItem(TEACHER_LINK, location.hash);
    this.showRoom(reply.room);
    this.render();
  }

  async join() {
    const code = $("#class-code").value, name = $("#class-name").value;
    const reply = await this.send("join_class", { code, name });
    if (!reply?.ok) return;
    localStorage.setItem(LEARNER, JSON.stringify({ code: reply.code, key: reply.key, name: reply.name }));
    if (location.pathname !== "/") history.replaceState(null, "", "/" + location.hash);
    this.render();
  }

  async leave() {
    await this.send("leave_class");
    this.forget(LEARNER, "You left the class.");
  }

  push() {
    return this.send("push_config", { hash: location.hash, fixSeed: $("#class-fix-seed").checked });
  }

  forget(name, message) {
    localStorage.removeItem(name);
    if (name === LEARNER) this.showLocks([]);
    this.message(message);
    this.render();
  }

  /** A learner's class_state: in or out, the locks, a pushed config, what happened. */
  state(state) {
    if (!state.inClass) {
      const learner = stored(LEARNER);
      if (learner && learner.code === state.code) this.forget(LEARNER, state.message);
      return;
    }
    this.showLocks(state.locks);
    document.body.classList.toggle("class-paused", state.paused);
    if (state.config) this.onConfig({ ok: true, config: state.config, hash: state.hash, reset: true });
    this.message(state.message);
    this.render();
  }

  showLocks(locks) {
    for (const element of document.querySelectorAll(".class-locked")) {
      element.classList.remove("class-locked");
      element.removeAttribute("title");
    }
    for (const name of locks) {
      for (const element of lockedElements(name)) {
        element.classList.add("class-locked");
        element.title = "Locked by the teacher";
      }
    }
    this.locks = locks;
  }

  showRoom(room) {
    $("#class-teacher-code").textContent = room.code;
    $("#class-wall-link").href = `/teach/${room.code}`;
    $("#class-project-link").href = `/project/${room.code}`;
    $("#class-join-link").textContent = room.link;
    $("#class-qr").src = room.qr;
  }

  message(text) {
    $("#class-message").textContent = text || "";
  }

  render() {
    const teacher = stored(TEACHER), learner = stored(LEARNER);
    $(".class-idle").hidden = Boolean(teacher || learner);
    $(".class-teacher").hidden = !teacher;
    $(".class-learner").hidden = !learner || Boolean(teacher);
    if (learner) {
      $("#class-learner-code").textContent = learner.code;
      $("#class-learner-name").textContent = learner.name;
    }
    document.body.classList.toggle("in-class", Boolean(learner));
  }
}
