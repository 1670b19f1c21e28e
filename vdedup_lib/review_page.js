// The script of vdedup's HTML review page (html_report.py inlines it into the page).
// The person picks the kept file of each group (radio) and ticks or unticks removals
// (checkboxes); "Download plan" saves the plan as they chose it, a JSON file that
// `vdedup apply PLAN.json` accepts.  chosenGroup() mirrors deletion.plan.overrule:
// same words, same order, so the two make the same group from the same choice.
// The kept file is never removable: a group never loses its last copy.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("vdedup-data").textContent);
  var W = DATA.words, FILES = DATA.files, PLAN = DATA.plan;
  var SIMS = {};
  DATA.similarities.forEach(function (t) { SIMS[t[0] + "\n" + t[1]] = t[2]; SIMS[t[1] + "\n" + t[0]] = t[2]; });
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o || {}, k); };
  var clone = function (x) { return JSON.parse(JSON.stringify(x)); };
  var state = {}, firstWhy = new Map();

  function members(g) { return [g.keep].concat(g.remove.map(function (r) { return r.path; }), g.review); }
  function proposedRemovals(g) { return g.remove.map(function (r) { return r.path; }); }
  // a file the plan can name safely: read at scan time, with its size and modification time
  function safe(p) {
    var v = FILES[p];
    return !!v && (v.status === undefined || v.status === "ok") && Number.isInteger(v.size_bytes) &&
      v.size_bytes >= 0 && typeof v.mtime === "number" && isFinite(v.mtime);
  }
  function words(t, g) { return t.replace(/\{(\w+)\}/g, function (m, k) { return k === "where" ? W.where : g.keep; }); }
  function res(v) { return v.width && v.height ? v.width + "x" + v.height : null; }
  function val(v, k) { return has(v, k) && v[k] !== undefined ? v[k] : null; }
  function evidence(k, o) {
    var out = {resolution: [res(k), res(o)]};
    ["duration_seconds", "bitrate", "size_bytes", "mtime"].forEach(function (n) { out[n] = [val(k, n), val(o, n)]; });
    return out;
  }
  function changed(g) {
    var st = state[g.number], prop = proposedRemovals(g);
    return st.keep !== g.keep || st.remove.size !== prop.length || prop.some(function (p) { return !st.remove.has(p); });
  }
  // the group as the person chose it: deletion.plan.overrule does the same in Python
  function chosenGroup(g) {
    var st = state[g.number], out = clone(g);
    if (st.remove.has(st.keep)) throw new Error("group " + g.number + ": the kept file cannot be removed");
    if (!changed(g)) return out;
    var mem = members(g), kf = FILES[st.keep] || {}, prop = {};
    if (st.keep !== g.keep && !safe(st.keep)) throw new Error("group " + g.number + ": " + st.keep + " cannot be kept");
    if (st.keep === g.keep) g.remove.forEach(function (r) { prop[r.path] = r; });
    out.keep = st.keep;
    out.remove = [];
    mem.forEach(function (p) {
      if (p === st.keep || !st.remove.has(p)) return;
      if (has(prop, p)) { out.remove.push(clone(prop[p])); return; }
      if (!safe(p)) throw new Error("group " + g.number + ": " + p + " cannot be removed safely");
      var f = FILES[p], s = SIMS[st.keep + "\n" + p];
      out.remove.push({path: p, size_bytes: f.size_bytes, mtime: f.mtime,
                       similarity_to_keep: s === undefined ? null : s, reason: words(W.remove, g),
                       evidence: evidence(kf, f)});
    });
    out.review = mem.filter(function (p) { return p !== st.keep && !st.remove.has(p); });
    out.review_reasons = {};
    out.review.forEach(function (p) {
      out.review_reasons[p] = has(g.review_reasons, p) ? g.review_reasons[p] : words(W.spare, g);
    });
    out.notes = (g.notes || []).concat([words(W.note, g)]);
    if (st.keep !== g.keep) {
      out.keep_reason = words(W.keep, g);
      out.keep_size_bytes = kf.size_bytes;
      out.keep_mtime = kf.mtime;
    }
    return out;
  }
  function chosenPlan() {
    var plan = clone(PLAN);
    plan.groups = PLAN.groups.map(chosenGroup);
    plan.groups.forEach(function (g) {  // checked again: a group never loses its kept file
      if (!g.keep && g.remove.length) throw new Error("group " + g.number + " has no kept file");
      g.remove.forEach(function (r) { if (r.path === g.keep) throw new Error("group " + g.number + " would lose its kept file"); });
    });
    return plan;
  }
  function fmtBytes(n) {
    var units = ["bytes", "KB", "MB", "GB"];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(n) < 1000 || i === units.length - 1) return i === 0 ? Math.trunc(n) + " bytes" : n.toFixed(1) + " " + units[i];
      n /= 1000;
    }
  }
  function render(g) {
    var st = state[g.number], sec = document.getElementById("group-" + g.number);
    if (!sec) return;
    var review = {};
    g.review.forEach(function (p) { review[p] = true; });
    sec.querySelectorAll(".member").forEach(function (m) {
      var p = m.dataset.path, role = p === st.keep ? "keep" : st.remove.has(p) ? "remove" : review[p] ? "review" : "stay";
      var why = m.querySelector(".why");
      if (!firstWhy.has(m)) firstWhy.set(m, {role: m.classList[1], html: why.innerHTML});
      var first = firstWhy.get(m);
      if (role === first.role && (st.keep === g.keep || role === "review")) why.innerHTML = first.html;
      else why.textContent = {keep: "Kept: ", remove: "Remove: ", stay: "Leave: "}[role] +
        words({keep: W.keep, remove: W.remove, stay: W.spare}[role], g);
      m.className = "member " + role;
      m.querySelector(".badge").textContent = {keep: "KEEP", remove: "REMOVE", review: "REVIEW", stay: "LEAVE"}[role];
      var radio = m.querySelector("input.keep-choice"), box = m.querySelector("input.remove-choice");
      radio.checked = p === st.keep;
      radio.disabled = p !== st.keep && !safe(p);
      box.checked = p !== st.keep && st.remove.has(p);
      box.disabled = p === st.keep || !safe(p);
    });
    var ch = changed(g), note = sec.querySelector(".choice");
    sec.classList.toggle("edited", ch);
    note.textContent = !ch ? "" : st.keep === g.keep ? "Changed by you." :
      "Changed by you: keep " + st.keep + ". The reasons, similarities and frame evidence below compare each file with " + g.keep + ", the file the rule kept.";
    sec.querySelectorAll(".aligned").forEach(function (a) { a.hidden = st.keep !== g.keep; });
  }
  function summary() {
    var n = 0, bytes = 0, edited = 0;
    PLAN.groups.forEach(function (g) {
      var st = state[g.number];
      st.remove.forEach(function (p) { n += 1; bytes += (FILES[p] || {}).size_bytes || 0; });
      if (changed(g)) edited += 1;
    });
    document.getElementById("plan-count").textContent = n;
    document.getElementById("plan-bytes").textContent = fmtBytes(bytes);
    document.getElementById("plan-edited").textContent = edited;
  }
  function reset() {
    PLAN.groups.forEach(function (g) { state[g.number] = {keep: g.keep, remove: new Set(proposedRemovals(g))}; render(g); });
    summary();
  }
  function download() {
    var plan;
    try { plan = chosenPlan(); } catch (e) { alert("No plan written: " + e.message); return; }
    var blob = new Blob([JSON.stringify(plan, null, 1) + "\n"], {type: "application/json"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = DATA.file_name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  document.addEventListener("change", function (ev) {
    var t = ev.target, m = t.closest(".member"), sec = t.closest("section.group");
    if (!m || !sec) return;
    var st = state[+sec.dataset.group], p = m.dataset.path;
    if (!st) return;
    if (t.classList.contains("keep-choice") && t.checked && p !== st.keep && safe(p)) {
      // the old kept file takes the new one's place: removed if the new one was to be removed
      var wasRemoved = st.remove.delete(p);
      if (wasRemoved && safe(st.keep)) st.remove.add(st.keep);
      st.keep = p;
    } else if (t.classList.contains("remove-choice") && p !== st.keep) {
      if (t.checked && safe(p)) st.remove.add(p); else st.remove.delete(p);
    }
    render(PLAN.groups.filter(function (g) { return g.number === +sec.dataset.group; })[0]);
    summary();
  });
  document.getElementById("plan-download").addEventListener("click", download);
  document.getElementById("plan-reset").addEventListener("click", reset);
  document.getElementById("planbar").hidden = false;
  document.body.classList.add("js");
  window.vdedupPlan = chosenPlan;
  reset();
})();
