// Concept label completion (an ARIA 1.2 combobox with a list popup): as the reader types, one JSON
// request to /api/concepts/complete fills the list; arrows move through it, Enter or a click opens
// the concept. Without this file the form goes to /concepts/find, which opens the best match.
(function () {
  "use strict";

  function setUp(form) {
    var input = form.querySelector("[role=combobox]");
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var status = form.querySelector("[role=status]");
    var endpoint = form.getAttribute("data-complete");
    var results = [];
    var active = -1;
    var asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function mark(index) {
      var options = list.querySelectorAll("[role=option]");
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(found) {
      results = found.results;
      list.textContent = "";
      results.forEach(function (entry, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = entry.label;
        if (!entry.preferred) {
          var pref = document.createElement("span");
          pref.className = "pref-label";
          pref.textContent = " → " + entry.pref_label;
          option.appendChild(pref);
        }
        // mousedown, not click: the input keeps its focus, so the list is not closed first.
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
          go(i);
        });
        list.appendChild(option);
      });
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      active = -1;
      status.textContent = results.length
        ? results.length + " concept" + (results.length === 1 ? "" : "s") + " found; use the arrow keys to choose"
        : "No concept has a name like that";
    }

    function go(index) {
      var entry = results[index];
      if (entry) { window.location.assign(entry.url); }
    }

    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (!text) { close(); results = []; return; }
      var mine = ++asked;
      fetch(endpoint + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (found) { if (mine === asked) { show(found); } })
        .catch(function () { if (mine === asked) { close(); } });
    });

    input.addEventListener("keydown", function (event) {
      var count = results.length;
      if (event.key === "ArrowDown" && count) {
        event.preventDefault();
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        mark((active + 1) % count);
      } else if (event.key === "ArrowUp" && count) {
        event.preventDefault();
        mark(active <= 0 ? count - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        go(active);
      } else if (event.key === "Escape") {
        close();
      }
    });

    input.addEventListener("blur", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-complete]");
    for (var i = 0; i < forms.length; i++) { setUp(forms[i]); }
  });
})();
