// Enhancements only: every page works without this file.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="ID"> copies the text of element ID.
  function copyText(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) { return; }
    var text = target.textContent;
    var status = document.getElementById(button.getAttribute("data-status"));
    function done(message) {
      if (status) { status.textContent = message; }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); },
                                               function () { fallback(); });
    } else {
      fallback();
    }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(target);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { done(document.execCommand("copy") ? "Copied" : "Selected: press Ctrl+C to copy"); }
      catch (e) { done("Selected: press Ctrl+C to copy"); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) { copyText(event.currentTarget); });
    }
    // Facet and sort selects submit on change; the submit button stays for keyboards and no-JS.
    var autos = document.querySelectorAll("select[data-autosubmit]");
    for (var j = 0; j < autos.length; j++) {
      autos[j].addEventListener("change", function (event) { event.currentTarget.form.submit(); });
    }
    // Facets sit above the results on a narrow screen: folded there, so the results come first.
    if (window.matchMedia && window.matchMedia("(max-width: 52rem)").matches) {
      var folds = document.querySelectorAll("details.facets[open]");
      for (var k = 0; k < folds.length; k++) { folds[k].open = false; }
    }
    // SPARQL: picking a named query loads it into the editor.
    var picker = document.getElementById("named-picker");
    if (picker) {
      picker.addEventListener("change", function () {
        if (picker.value) { picker.form.submit(); }
      });
    }
  });

  // "/" focuses the search box, as on many sites; not while typing in a field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    var box = document.querySelector("input[type=search]");
    if (box) { event.preventDefault(); box.focus(); }
  });
})();
