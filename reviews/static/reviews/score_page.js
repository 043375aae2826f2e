// The reviewer's score page: running weighted total, debounced autosave, submit and recusal through the API.
// Re-run safe: Turbo evaluates this script on every visit, so each sheet is bound once.
(function () {
  "use strict";
  var root = document.querySelector("[data-score-page]");
  if (!root || root.dataset.bound) return;
  root.dataset.bound = "1";
  var text = JSON.parse(document.getElementById("rdec-score-messages").textContent);
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  var DELAY = 800;

  function round2(x) {
    return (Math.round((x + Number.EPSILON) * 100) / 100).toFixed(2);
  }

  // Same formula as reviews/scoring.weighted_total: sum of score / max x weight.
  function total(section) {
    var sum = 0, filled = 0, inputs = section.querySelectorAll("input[data-criterion]");
    inputs.forEach(function (input) {
      var value = parseFloat(input.value);
      if (input.value === "" || isNaN(value)) return;
      filled += 1;
      sum += value / parseFloat(input.dataset.max) * parseFloat(input.dataset.weight);
    });
    return { value: round2(sum), filled: filled, complete: filled === inputs.length };
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
    });
  }

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

  function lock(section, label) {
    section.querySelectorAll("input, textarea").forEach(function (el) { el.readOnly = true; });
    var actions = section.querySelector("[data-actions]");
    if (actions) actions.remove();
    section.querySelector("[data-state]").innerHTML = "<strong></strong>";
    section.querySelector("[data-state] strong").textContent = label;
  }

  root.querySelectorAll("section[data-sheet]").forEach(function (section) {
    var status = section.querySelector("[data-save-status]");
    var output = section.querySelector("output[data-total]");
    var timer = null;

    function refresh() {
      if (!output) return;
      var t = total(section);
      output.textContent = t.filled ? t.value + (t.complete ? "" : text.incomplete) : "—";
    }

    function save() {
      timer = null;
      status.textContent = text.saving;
      return send(section.dataset.url, "PATCH", payload(section)).then(function () {
        showErrors(section, {});
        status.textContent = text.saved;
      }, function (errors) {
        status.textContent = text.failed + showErrors(section, errors);
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
          lock(section, text.submitted);
          status.textContent = text.submitted;
        }, function (errors) {
          status.textContent = text.submitFailed + showErrors(section, errors);
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
          lock(section, text.recused);
          section.querySelector("[data-state]").append("：" + sheet.recusal_reason);
          status.textContent = text.recused;
        }, function (errors) {
          status.textContent = text.conflictFailed + showErrors(section, errors);
        });
      });
    }

    refresh();
  });
})();
