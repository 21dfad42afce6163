// hotline: the pages' behaviour. Plain JavaScript, no build step, no dependencies.
// Talks to the JSON API under /api with the session cookie and the CSRF token.
"use strict";

const config = JSON.parse(document.getElementById("hotline-config").textContent);

function t(key, vars) {
  let text = config.messages[key] || key;
  for (const [name, value] of Object.entries(vars || {})) {
    text = text.replace("{" + name + "}", String(value));
  }
  return text;
}

const dateFormat = new Intl.DateTimeFormat(config.lang === "zh" ? "zh-CN" : "en-GB", {
  timeZone: config.timezone, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

function localTime(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "";
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) node.append(child);
  return node;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, url, body) {
  const headers = { "Accept": "application/json" };
  if (config.csrf) headers["X-CSRF-Token"] = config.csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new ApiError(401, t("js.signed_out"));
  }
  const data = (response.headers.get("Content-Type") || "").startsWith("application/json")
    ? await response.json() : null;
  if (!response.ok) {
    const detail = data && data.details ? " (" + data.details.map((d) => d.loc.join(".") + ": " + d.msg).join("; ") + ")" : "";
    throw new ApiError(response.status, ((data && data.error) || response.statusText) + detail);
  }
  return data;
}

function say(node, text, isError) {
  if (!node) return;
  node.textContent = text;
  node.classList.toggle("error", Boolean(isError));
}

// Read and fill the intake/case field inputs of a form.
function readFields(form) {
  const values = {};
  for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (input.disabled || input.name.startsWith("_")) continue;
    values[input.name] = input.type === "checkbox" ? input.checked : input.value.trim();
  }
  return values;
}

function fillFields(form, values) {
  for (const [name, value] of Object.entries(values || {})) {
    const input = form.elements.namedItem(name);
    if (!input) continue;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = value === null || value === undefined ? "" : value;
  }
}

// --- live calls (operators) ---------------------------------------------------------

function livePage() {
  const tbody = document.querySelector("#live-calls tbody");
  const empty = document.getElementById("no-calls");
  const alarm = document.getElementById("unrecorded-alarm");
  const connection = document.getElementById("connection");
  const form = document.getElementById("intake-form");
  const pick = document.getElementById("intake-pick");
  const status = document.getElementById("intake-status");
  const calls = new Map();
  let skew = 0; // server clock minus ours, from the snapshot
  let selected = null;

  function since(call) {
    const from = Date.parse(call.answered_at || call.started_at);
    const to = call.ended_at ? Date.parse(call.ended_at) : Date.now() + skew;
    return (to - from) / 1000;
  }

  function render() {
    tbody.replaceChildren();
    let unrecorded = 0;
    for (const call of calls.values()) {
      if (call.unrecorded) unrecorded += 1;
      const badge = call.recording
        ? el("span", { class: "badge rec", text: "● " + t("js.recording") })
        : el("span", { class: call.state === "answered" ? "badge norec" : "badge idle",
                       text: call.state === "answered" ? t("js.not_recording") : "—" });
      const row = el("tr", {
        "data-call": call.call_id,
        class: [call.unrecorded ? "unrecorded" : "", selected === call.call_id ? "selected" : ""].join(" ").trim() || null,
        tabindex: "0",
      },
        el("td", { class: "mono caller", text: call.caller }),
        el("td", { text: call.callee }),
        el("td", { text: t("js." + call.state) }),
        el("td", { class: "mono duration", text: clock(since(call)) }),
        el("td", {}, badge),
        el("td", { text: call.intake ? call.intake.operator : "" }));
      row.addEventListener("click", () => select(call.call_id));
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") select(call.call_id); });
      tbody.append(row);
    }
    empty.hidden = calls.size > 0;
    alarm.hidden = unrecorded === 0;
    alarm.textContent = unrecorded ? t("js.unrecorded_alarm") : "";
  }

  function select(callId) {
    const call = calls.get(callId);
    if (!call || !form) return;
    selected = callId;
    form.hidden = false;
    pick.hidden = true;
    form.reset();
    document.getElementById("intake-call").textContent = call.caller + " · " + localTime(call.started_at);
    const values = call.intake ? call.intake.fields : {};
    fillFields(form, values);
    if (!values.reporter_contact && !call.caller_masked) {
      form.elements.namedItem("reporter_contact").value = call.caller;
    }
    say(status, "");
    render();
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!selected) return;
      try {
        const saved = await api("PUT", `/api/calls/${encodeURIComponent(selected)}/intake`, readFields(form));
        const call = calls.get(selected);
        if (call) call.intake = saved;
        say(status, saved.case_id ? t("intake.case_opened") : t("js.saved"));
        render();
      } catch (error) {
        say(status, t("js.error", { message: error.message }), true);
      }
    });
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", () => { connection.textContent = t("js.connected"); });
    source.addEventListener("error", () => { connection.textContent = t("js.reconnecting"); });
    source.addEventListener("snapshot", (event) => {
      const data = JSON.parse(event.data);
      skew = Date.parse(data.now) - Date.now();
      calls.clear();
      for (const call of data.calls) calls.set(call.call_id, call);
      render();
    });
    source.addEventListener("call", (event) => {
      const call = JSON.parse(event.data);
      const known = calls.get(call.call_id);
      if (call.state === "ended") {
        calls.delete(call.call_id);
      } else {
        calls.set(call.call_id, Object.assign({}, call, { intake: known ? known.intake : null }));
      }
      render();
    });
    source.addEventListener("signed-out", () => { source.close(); location.href = "/login"; });
  }
  connect();
  setInterval(() => {
    for (const row of tbody.querySelectorAll("tr[data-call]")) {
      const call = calls.get(row.dataset.call);
      if (call) row.querySelector(".duration").textContent = clock(since(call));
    }
  }, 1000);
}

// --- the case page (handlers) -------------------------------------------------------

function casePage() {
  const root = document.getElementById("case");
  const caseId = root.dataset.case;
  const players = [...document.querySelectorAll("audio[data-recording]")];
  const list = document.getElementById("transcript");
  const segments = list ? [...list.querySelectorAll(".segment")] : [];
  let editing = false;

  function playerFor(recordingId) {
    return players.find((p) => p.dataset.recording === String(recordingId)) || players[0];
  }

  function seek(segment) {
    seekTo(segment, Number(segment.dataset.start));
  }

  function seekTo(segment, at) {
    const player = playerFor(segment.dataset.recording);
    if (!player) return;
    player.currentTime = Math.max(0, at - Number(player.dataset.offset));
    player.play().catch(() => {});
    highlight(player);
  }

  // The word being played: the one whose timed span holds the player's time (on the
  // case's timeline: a later recording's player starts at its offset).
  function collectWords() {
    return list ? [...list.querySelectorAll(".word")].map((node) => ({
      node, start: Number(node.dataset.start), end: Number(node.dataset.end),
    })) : [];
  }
  let words = collectWords();
  let playing = null;

  function highlight(player) {
    const at = Number(player.dataset.offset) + player.currentTime;
    for (const segment of segments) {
      const on = at >= Number(segment.dataset.start) && at < Number(segment.dataset.end);
      if (on && !segment.classList.contains("current") && !editing) {
        segment.scrollIntoView({ block: "nearest" });
      }
      segment.classList.toggle("current", on);
    }
    const word = editing ? null : words.find((w) => at >= w.start && at < w.end) || null;
    if (word !== playing) {
      if (playing) playing.node.classList.remove("playing");
      if (word) word.node.classList.add("playing");
      playing = word;
    }
  }

  // timeupdate comes four times a second; while playing, follow every frame so the
  // highlight moves with each word.
  function follow(player) {
    highlight(player);
    if (!player.paused && !player.ended) requestAnimationFrame(() => follow(player));
  }

  for (const player of players) {
    player.addEventListener("timeupdate", () => highlight(player));
    player.addEventListener("seeked", () => highlight(player));
    player.addEventListener("pause", () => highlight(player));
    player.addEventListener("play", () => follow(player));
  }
  for (const segment of segments) {
    segment.querySelector(".time").addEventListener("click", () => seek(segment));
    segment.querySelector(".text").addEventListener("click", (event) => {
      if (editing) return;
      const word = event.target.closest(".word");
      if (word) seekTo(segment, Number(word.dataset.start));
      else seek(segment);
    });
  }

  // Corrections: the text of each segment becomes editable; saving sends a new version.
  const correct = document.getElementById("correct");
  const save = document.getElementById("save-correction");
  const cancel = document.getElementById("cancel-correction");
  const correctionStatus = document.getElementById("correction-status");
  function setEditing(on) {
    editing = on;
    if (on && playing) { playing.node.classList.remove("playing"); playing = null; }
    for (const segment of segments) {
      const text = segment.querySelector(".text");
      text.contentEditable = on ? "plaintext-only" : "false";
      if (on && text.contentEditable !== "plaintext-only") text.contentEditable = "true";
      segment.classList.toggle("editing", on);
    }
    if (correct) correct.hidden = on;
    if (save) save.hidden = !on;
    if (cancel) cancel.hidden = !on;
  }
  if (correct) {
    // The timed words as they were, to put back on cancel.
    const originals = segments.map((s) => [...s.querySelector(".text").childNodes].map((n) => n.cloneNode(true)));
    correct.addEventListener("click", () => setEditing(true));
    cancel.addEventListener("click", () => {
      segments.forEach((s, i) => { s.querySelector(".text").replaceChildren(...originals[i]); });
      words = collectWords();
      playing = null;
      setEditing(false);
    });
    save.addEventListener("click", async () => {
      const body = {
        base_version: Number(list.dataset.version),
        segments: segments.map((s) => ({
          text: s.querySelector(".text").textContent.trim(),
          speaker: s.dataset.speaker || null,
        })),
      };
      try {
        await api("PUT", `/api/cases/${caseId}/transcript`, body);
        location.reload();
      } catch (error) {
        say(correctionStatus, t("js.error", { message: error.message }), true);
      }
    });
  }

  // Versions and what changed between them.
  const versions = document.getElementById("versions");
  const diffBox = document.getElementById("diff");
  async function showDiff(from, to) {
    const diff = await api("GET", `/api/cases/${caseId}/transcript/diff?from=${from}&to=${to}`);
    diffBox.replaceChildren(el("h4", { text: t("js.diff", { from, to }) }));
    if (!diff.segments.length) diffBox.append(el("p", { class: "muted", text: t("js.no_changes") }));
    for (const segment of diff.segments) {
      const line = el("p", { class: "diff-line", "data-index": segment.index },
        el("span", { class: "mono muted", text: clock(segment.start) + " " }));
      for (const [op, text] of segment.ops) {
        line.append(el(op === "equal" ? "span" : op === "delete" ? "del" : "ins", { text }));
      }
      diffBox.append(line);
    }
  }
  async function loadVersions() {
    if (!versions) return;
    const data = await api("GET", `/api/cases/${caseId}/transcript/versions`);
    versions.replaceChildren();
    for (const v of data.versions) {
      const item = el("li", { "data-version": v.version },
        el("button", { type: "button", class: "link", text: t("js.version", { version: v.version }) }),
        " · " + v.author + " · " + localTime(v.created_at));
      if (v.version > 1) item.querySelector("button").addEventListener("click", () => showDiff(v.version - 1, v.version));
      versions.append(item);
    }
    const latest = data.versions[data.versions.length - 1];
    if (latest && latest.version > 1) await showDiff(latest.version - 1, latest.version);
  }
  loadVersions().catch((error) => say(diffBox, t("js.error", { message: error.message }), true));

  // Transcribe again with another language or model: a new version once the job is done.
  const rerun = document.getElementById("rerun-form");
  const rerunStatus = document.getElementById("rerun-status");
  if (rerun) {
    rerun.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(rerun);
      const body = { language: form.get("language") || null, model: form.get("model") || null };
      rerun.querySelector("button").disabled = true;
      try {
        const queued = await api("POST", `/api/cases/${caseId}/transcript/rerun`, body);
        say(rerunStatus, t("js.rerun_queued", { version: queued.version }));
        // A long call on a busy worker takes minutes; after half an hour, say so and stop.
        for (let tries = 0; ; tries += 1) {
          if (tries > 1200) throw new Error(t("js.rerun_slow", { version: queued.version }));
          await new Promise((resolve) => setTimeout(resolve, 1500));
          const data = await api("GET", `/api/cases/${caseId}/transcript/versions`);
          if (data.versions.some((v) => v.version >= queued.version)) break;
        }
        say(rerunStatus, t("js.rerun_ready", { version: queued.version }));
        location.reload();
      } catch (error) {
        rerun.querySelector("button").disabled = false;
        say(rerunStatus, t("js.error", { message: error.message }), true);
      }
    });
  }

  // Case fields: only what changed is sent.
  const fields = document.getElementById("case-fields");
  const fieldsStatus = document.getElementById("fields-status");
  let initial = fields ? readFields(fields) : {};
  if (fields) {
    fields.addEventListener("submit", async (event) => {
      event.preventDefault();
      const now = readFields(fields);
      const changed = {};
      for (const [name, value] of Object.entries(now)) if (initial[name] !== value) changed[name] = value;
      try {
        const updated = await api("PATCH", `/api/cases/${caseId}`, changed);
        initial = now;
        setStatus(updated.status);
        say(fieldsStatus, t("js.saved"));
      } catch (error) {
        say(fieldsStatus, t("js.error", { message: error.message }), true);
      }
    });
  }

  function setStatus(status) {
    const badge = document.getElementById("case-status");
    badge.className = "status status-" + status;
    badge.textContent = (config.messages["js.status." + status]) || status;
    badge.dataset.status = status;
  }

  // Unmasking is audited on the server, with the reason given.
  const unmask = document.getElementById("unmask-form");
  if (unmask) {
    unmask.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const data = await api("POST", `/api/cases/${caseId}/unmask`, { reason: unmask.elements.namedItem("reason").value });
        document.getElementById("caller-number").textContent = data.caller.number;
        for (const name of ["reporter_name", "reporter_contact"]) {
          const input = fields.elements.namedItem(name);
          input.disabled = false;
          input.value = data[name];
          initial[name] = data[name];
        }
        unmask.remove();
      } catch (error) {
        say(document.getElementById("fields-status"), t("js.error", { message: error.message }), true);
      }
    });
  }

  // Long-term preservation: flagged by handlers, lifted by the head (both audited).
  const preservationStatus = document.getElementById("preservation-status");
  for (const [id, path] of [["preservation-mark", "preservation"], ["preservation-lift", "preservation/lift"]]) {
    const form = document.getElementById(id);
    if (!form) continue;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      for (const input of form.querySelectorAll("input[name], select[name]")) body[input.name] = input.value.trim();
      try {
        await api("POST", `/api/cases/${caseId}/${path}`, body);
        location.reload();
      } catch (error) {
        say(preservationStatus, t("js.error", { message: error.message }), true);
      }
    });
  }

  // The head's confidentiality level (with a reason) and the handlers of a state case.
  const levelForm = document.getElementById("level-form");
  if (levelForm) {
    levelForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = document.getElementById("level-status");
      try {
        const data = await api("PUT", `/api/cases/${caseId}/confidentiality`, {
          level: levelForm.elements.namedItem("level").value,
          reason: levelForm.elements.namedItem("reason").value.trim(),
        });
        const badge = document.getElementById("case-level");
        badge.textContent = t("js.level." + data.level);
        badge.className = "level level-" + data.level;
        levelForm.elements.namedItem("reason").value = "";
        say(status, t("js.saved"));
      } catch (error) {
        say(status, t("js.error", { message: error.message }), true);
      }
    });
  }
  const assignees = document.getElementById("assignees");
  function showAssignees(data) {
    assignees.replaceChildren();
    for (const a of data.assignees) {
      const button = el("button", { type: "button", class: "link unassign", text: t("js.unassign") });
      button.addEventListener("click", () => unassign(a.username));
      assignees.append(el("li", { "data-username": a.username }, a.username + " ", button));
    }
  }
  async function unassign(username) {
    try {
      showAssignees(await api("DELETE", `/api/cases/${caseId}/assignees/${encodeURIComponent(username)}`));
    } catch (error) {
      say(document.getElementById("level-status"), t("js.error", { message: error.message }), true);
    }
  }
  if (assignees) {
    for (const item of assignees.querySelectorAll("li[data-username]")) {
      item.querySelector(".unassign").addEventListener("click", () => unassign(item.dataset.username));
    }
    const assignForm = document.getElementById("assign-form");
    assignForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        showAssignees(await api("POST", `/api/cases/${caseId}/assignees`, {
          username: assignForm.elements.namedItem("username").value.trim(),
        }));
        assignForm.reset();
      } catch (error) {
        say(document.getElementById("level-status"), t("js.error", { message: error.message }), true);
      }
    });
  }

  redactionMarks(caseId, list);
  copyRequestForm(caseId);
  copyActions();

  const forward = document.getElementById("forward");
  if (forward) {
    forward.addEventListener("click", async () => {
      if (!confirm(t("js.confirm_forward"))) return;
      const status = document.getElementById("forward-status");
      try {
        const data = await api("POST", `/api/cases/${caseId}/forward`);
        forward.disabled = true;
        setStatus(data.status);
        say(status, t("js.forwarded"));
      } catch (error) {
        say(status, t("js.error", { message: error.message }), true);
      }
    });
  }
}

// --- copies for a party: marked terms, requests and their steps ---------------------

// Terms the handler marks on the transcript are redacted in every later copy. A word
// selected in the transcript fills the input.
function redactionMarks(caseId, transcript) {
  const form = document.getElementById("mark-form");
  const list = document.getElementById("mark-list");
  if (!form || !list) return;
  const status = document.getElementById("mark-status");
  const input = form.elements.namedItem("term");
  function show(data) {
    list.replaceChildren();
    if (!data.marks.length) list.append(el("li", { class: "muted", text: t("js.marks.none") }));
    for (const mark of data.marks) {
      const item = el("li", { "data-mark": mark.id, class: mark.active ? "mark" : "mark withdrawn" },
        el("span", { class: "term", text: mark.term }), " ",
        el("span", { class: "muted small", text: t("js.marks.occurrences", { n: mark.occurrences }) + " · " +
          t("js.marks.by", { who: mark.marked_by.replace(/^user:/, "") }) }), " ");
      if (mark.active) {
        const button = el("button", { type: "button", class: "link withdraw", text: t("js.marks.withdraw") });
        button.addEventListener("click", () => withdraw(mark.id));
        item.append(button);
      } else {
        item.append(el("span", { class: "muted small", text: t("js.marks.withdrawn") }));
      }
      list.append(item);
    }
  }
  const url = `/api/cases/${caseId}/redaction-marks`;
  async function withdraw(id) {
    try {
      await api("DELETE", `${url}/${id}`);
      show(await api("GET", url));
    } catch (error) {
      say(status, t("js.error", { message: error.message }), true);
    }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", url, { term: input.value.trim() });
      input.value = "";
      say(status, t("js.saved"));
      show(await api("GET", url));
    } catch (error) {
      say(status, t("js.error", { message: error.message }), true);
    }
  });
  if (transcript) {
    transcript.addEventListener("mouseup", () => {
      const chosen = String(window.getSelection() || "").trim();
      if (chosen.length >= 2 && chosen.length <= 200 && !chosen.includes("\n")) input.value = chosen;
    });
  }
  api("GET", url).then(show).catch((error) => say(status, t("js.error", { message: error.message }), true));
}

// "m:ss" or seconds; "" is no value; NaN when it is neither.
function seconds(text) {
  const value = text.trim();
  if (!value) return null;
  const match = /^(\d{1,4})(?::([0-5]\d))?$/.exec(value);
  if (!match) return NaN;
  return match[2] === undefined ? Number(match[1]) : Number(match[1]) * 60 + Number(match[2]);
}

function copyRequestForm(caseId) {
  const form = document.getElementById("copy-form");
  if (!form) return;
  const status = document.getElementById("copy-form-status");
  const reason = document.getElementById("full-reason");
  for (const radio of form.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => { reason.hidden = form.elements.namedItem("kind").value !== "full"; });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (name) => form.elements.namedItem(name).value.trim();
    const what = [...form.querySelectorAll("input[name=what]:checked")].map((box) => box.value);
    const start = seconds(value("range_start")), end = seconds(value("range_end"));
    if (Number.isNaN(start) || Number.isNaN(end)) return say(status, t("js.copy.bad_time"), true);
    if (!what.length) return say(status, t("js.copy.no_part"), true);
    const full = form.elements.namedItem("kind").value === "full";
    const body = {
      party_name: value("party_name"), party_id_type: value("party_id_type"),
      party_id_number: value("party_id_number"), purpose: value("purpose"), what, full,
    };
    if (full) body.full_reason = value("full_reason");
    if (start !== null || end !== null) { body.range_start = start ?? 0; body.range_end = end; }
    try {
      const made = await api("POST", `/api/cases/${caseId}/copies`, body);
      say(status, t("js.copy.recorded", { number: made.number }));
      location.reload();
    } catch (error) {
      say(status, t("js.error", { message: error.message }), true);
    }
  });
}

// The steps of a request (approve, refuse, issue, revoke): each button names its step;
// the server decides whether this person may take it.
function copyActions() {
  for (const box of document.querySelectorAll("article.copy-request[data-copy]")) {
    const message = box.querySelector(".copy-message");
    for (const button of box.querySelectorAll("button[data-step]")) {
      button.addEventListener("click", async () => {
        const step = button.dataset.step;
        const comment = button.parentElement.querySelector("input[name=comment]");
        const body = step === "issue" ? undefined : { comment: comment ? comment.value.trim() : "" };
        for (const other of box.querySelectorAll("button[data-step]")) other.disabled = true;
        try {
          await api("POST", `/api/copies/${box.dataset.copy}/${step}`, body);
          location.reload();
        } catch (error) {
          for (const other of box.querySelectorAll("button[data-step]")) other.disabled = false;
          say(message, t("js.error", { message: error.message }), true);
        }
      });
    }
  }
}

// --- the audit trail (auditors) -----------------------------------------------------

function auditPage() {
  const tbody = document.querySelector("#audit-events tbody");
  const more = document.getElementById("audit-more");
  const params = new URLSearchParams(location.search);
  for (const [key, value] of [...params]) if (!value) params.delete(key);
  async function load(before) {
    if (before) params.set("before", before);
    const data = await api("GET", "/api/audit?" + params.toString());
    for (const e of data.events) {
      // The event in words; its code and data for whoever needs them.
      const raw = el("details", { class: "event-data" },
        el("summary", { text: t("js.event_data") }),
        el("code", { class: "mono small", text: e.action + " " + JSON.stringify(e.details) }));
      tbody.append(el("tr", { "data-action": e.action },
        el("td", { class: "mono", text: e.seq }), el("td", { class: "mono", text: localTime(e.at) }),
        el("td", { class: "who", text: e.who }),
        el("td", {}, el("span", { class: "said", text: e.text }), raw),
        el("td", {}, e.case_id === null ? "" : el("a", { href: "/cases/" + e.case_id, text: e.case_id }))));
    }
    more.hidden = !data.next_before;
    more.onclick = () => load(data.next_before);
  }
  load().catch((error) => tbody.append(el("tr", {}, el("td", { class: "error", text: error.message }))));
}

const pages = { live: livePage, case: casePage, copies: copyActions, audit: auditPage };
const page = pages[document.body.dataset.page];
if (page) page();
