// The reviewer's score page: running weighted total, debounced autosave, submit and recusal through the API.
// Re-run safe: Turbo evaluates this script on every visit, so each sheet is bound once.
// An autosave keeps every valid score and the comment even when one score is refused: the API answers the saved
// sheet with `errors` naming the refused criteria, and only those fields are marked.
(function () {
  "use strict";
  var root = document.querySelector("[data-score-page]");
  if (!root || root.dataset.bound) return;
  var text = JSON.parse(document.getElementById("rdec-score-messages").textContent);
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  var DELAY = 800;

  function round2(x) {
    return (Math.round((x + Number.EPSILON) * 100) / 100).toFixed(2);
  }

  // A score the server would accept: a number from 0 to the criterion's maximum (empty is "not scored yet").
  function inRange(input) {
    var value = Number(input.value);
    return input.value.trim() !== "" && isFinite(value) && value >= 0 && value <= parseFloat(input.dataset.max);
  }

  // Same formula as reviews/scoring.weighted_total: sum of score / max x weight, over the valid scores only.
  function total(section) {
    var sum = 0, filled = 0, invalid = 0, inputs = section.querySelectorAll("input[data-criterion]");
    inputs.forEach(function (input) {
      if (input.value === "" && !(input.validity && input.validity.badInput)) return;
      if (!inRange(input)) { invalid += 1; return; }
      filled += 1;
      sum += Number(input.value) / parseFloat(input.dataset.max) * parseFloat(input.dataset.weight);
    });
    return { value: round2(sum), filled: filled, invalid: invalid, complete: filled === inputs.length };
  }

  function payload(section) {
    var scores = {};
    section.querySelectorAll("input[data-criterion]").forEach(function (input) {
      scores[input.dataset.criterion] = input.value === "" ? null : input.value;
    });
    return { scores: scores, comment: section.querySelector("textarea[name=comment]").value };
  }

  function send(url, method, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw data;
        return data;
      });
    }, function () {
      throw { detail: text.offline };
    });
  }

  // Marks exactly the fields named in `errors` (aria-invalid and the message under the field); returns the
  // messages as one line for the status.
  function showErrors(section, errors) {
    section.querySelectorAll("[data-error-for]").forEach(function (p) { p.textContent = ""; });
    section.querySelectorAll("input[data-criterion]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    if (errors && errors.detail) return String(errors.detail);  // 403/404/409: {detail, code}
    var messages = [];
    Object.keys(errors || {}).forEach(function (key) {
      var message = Array.isArray(errors[key]) ? errors[key].join(" ") : String(errors[key]);
      var slot = section.querySelector('[data-error-for="' + key + '"]');
      var input = section.querySelector('input[data-criterion="' + key + '"]');
      if (slot) slot.textContent = message;
      if (input) input.setAttribute("aria-invalid", "true");
      messages.push(message);
    });
    return messages.join(" ");
  }

  function setStatus(element, message, tone) {
    element.textContent = message;
    element.dataset.tone = tone;
  }

  function lock(section, label, status) {
    section.querySelectorAll("input, textarea").forEach(function (el) { el.readOnly = true; });
    var actions = section.querySelector("[data-actions]");
    if (actions) actions.remove();
    section.dataset.status = status;
    section.querySelector("[data-state]").innerHTML = "<strong></strong>";
    section.querySelector("[data-state] strong").textContent = label;
  }

  // The page's counters (共 n 件，已送出 m 件，迴避 k 件), recounted from the sheets' states after a change.
  function recount() {
    var sections = root.querySelectorAll("section[data-sheet]");
    var counts = { total: sections.length, submitted: 0, recused: 0 };
    sections.forEach(function (section) {
      if (section.dataset.status in counts) counts[section.dataset.status] += 1;
    });
    Object.keys(counts).forEach(function (key) {
      var slot = root.querySelector('[data-count="' + key + '"]');
      if (slot) slot.textContent = counts[key];
    });
  }

  root.querySelectorAll("section[data-sheet]").forEach(function (section) {
    var status = section.querySelector("[data-save-status]");
    var output = section.querySelector("output[data-total]");
    var timer = null;

    function refresh() {
      if (!output) return;
      var t = total(section);
      var note = t.invalid ? text.invalid : (t.complete ? "" : text.incomplete);
      output.textContent = t.filled ? t.value + note : (t.invalid ? "—" + text.invalid : "—");
    }

    function save() {
      timer = null;
      setStatus(status, text.saving, "busy");
      return send(section.dataset.url, "PATCH", payload(section)).then(function (sheet) {
        var refused = showErrors(section, sheet.errors || {});
        if (refused) setStatus(status, text.partlySaved + refused, "error");
        else setStatus(status, text.saved, "success");
        if (sheet.status === "draft" && section.dataset.status !== "draft") {
          section.dataset.status = "draft";
          section.querySelector("[data-state]").textContent = text.draft;
        }
      }, function (errors) {
        setStatus(status, text.failed + showErrors(section, errors), "error");
      });
    }

    if (section.querySelector("[data-actions]")) {
      section.addEventListener("input", function () {
        refresh();
        clearTimeout(timer);
        timer = setTimeout(save, DELAY);
      });
    }

    var submit = section.querySelector("[data-submit]");
    if (submit) {
      submit.addEventListener("click", function () {
        if (!window.confirm(text.confirm)) return;
        clearTimeout(timer);
        send(section.dataset.submitUrl, "POST", payload(section)).then(function (sheet) {
          showErrors(section, {});
          if (output && sheet.total !== null) output.textContent = round2(sheet.total);
          lock(section, text.submitted, "submitted");
          setStatus(status, text.submitted, "success");
          recount();
        }, function (errors) {
          setStatus(status, text.submitFailed + showErrors(section, errors), "error");
        });
      });
    }

    var conflict = section.querySelector("[data-conflict]");
    if (conflict) {
      conflict.addEventListener("click", function () {
        var reason = window.prompt(text.conflictPrompt);
        if (reason === null || !reason.trim()) return;
        clearTimeout(timer);
        send(section.dataset.conflictUrl, "POST", { reason: reason }).then(function (sheet) {
          section.querySelectorAll(".rdec-criteria, .rdec-comment, .rdec-total").forEach(function (el) { el.remove(); });
          lock(section, text.recused, "recused");
          section.querySelector("[data-state]").append("：" + sheet.recusal_reason);
          setStatus(status, text.recused, "success");
          recount();
        }, function (errors) {
          setStatus(status, text.conflictFailed + showErrors(section, errors), "error");
        });
      });
    }

    refresh();
  });
  root.dataset.bound = "1";
})();
