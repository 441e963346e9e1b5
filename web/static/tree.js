// The concept tree of /concepts as a WAI-ARIA tree view (the APG's navigation treeview): each
// concept's link is its treeitem, its narrower concepts a group the link owns, one item in the Tab
// order at a time (a roving tabindex). Up/Down move, Right opens or moves to the first child, Left
// closes or moves to the parent, Home/End go to the first/last visible item, Enter follows the link.
// Without this file the page's tree is plain links with <details> toggles, which keyboards reach
// by Tab; with it the toggles go, so no control sits inside another (axe: nested-interactive).
(function () {
  "use strict";

  function setUp(tree) {
    var counter = 0;
    tree.setAttribute("role", "tree");
    var heading = document.getElementById("tree-h");
    if (heading) { tree.setAttribute("aria-labelledby", "tree-h"); }

    // Rebuild each <li>: a twisty (for the mouse; not focusable), the link as the treeitem, its
    // count described, and the narrower <ul> as the treeitem's group.
    var items = tree.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      var li = items[i];
      var link = li.querySelector(":scope > a");
      if (!link) { continue; }
      counter += 1;
      li.setAttribute("role", "none");
      link.setAttribute("role", "treeitem");
      link.setAttribute("tabindex", "-1");
      var count = li.querySelector(":scope > .count");
      if (count) {
        count.id = "tree-count-" + counter;
        link.setAttribute("aria-describedby", count.id);
      }
      var twisty = document.createElement("span");
      twisty.className = "twisty";
      twisty.setAttribute("aria-hidden", "true");
      li.insertBefore(twisty, link);
      var details = li.querySelector(":scope > details");
      if (details) {
        var group = details.querySelector(":scope > ul");
        group.setAttribute("role", "group");
        group.id = "tree-group-" + counter;
        li.replaceChild(group, details);
        link.setAttribute("aria-owns", group.id);
        link.setAttribute("aria-expanded", details.open ? "true" : "false");
        group.hidden = !details.open;
        twisty.addEventListener("click", toggleFrom(link));
      }
    }
    var all = Array.prototype.slice.call(tree.querySelectorAll("[role=treeitem]"));
    if (!all.length) { return; }
    all[0].setAttribute("tabindex", "0");

    function groupOf(item) {
      var id = item.getAttribute("aria-owns");
      return id ? document.getElementById(id) : null;
    }
    function parentOf(item) {
      var group = item.parentNode.parentNode; // li role=none, then its <ul>
      if (!group || group.getAttribute("role") !== "group") { return null; }
      return group.parentNode.querySelector(":scope > [role=treeitem]");
    }
    function visible() {
      return all.filter(function (item) {
        for (var up = parentOf(item); up; up = parentOf(up)) {
          if (up.getAttribute("aria-expanded") !== "true") { return false; }
        }
        return true;
      });
    }
    function focus(item) {
      for (var j = 0; j < all.length; j++) { all[j].setAttribute("tabindex", all[j] === item ? "0" : "-1"); }
      item.focus();
    }
    function setOpen(item, open) {
      var group = groupOf(item);
      if (!group) { return; }
      item.setAttribute("aria-expanded", open ? "true" : "false");
      group.hidden = !open;
      var current = tree.querySelector("[role=treeitem][tabindex='0']");
      if (!open && current && group.contains(current)) {
        // The item in the Tab order was inside: it passes to the item closed over it.
        for (var j = 0; j < all.length; j++) { all[j].setAttribute("tabindex", all[j] === item ? "0" : "-1"); }
      }
    }
    function toggleFrom(item) {
      return function () { setOpen(item, item.getAttribute("aria-expanded") !== "true"); };
    }

    tree.addEventListener("focusin", function (event) {
      var item = event.target;
      if (item.getAttribute && item.getAttribute("role") === "treeitem") {
        for (var j = 0; j < all.length; j++) { all[j].setAttribute("tabindex", all[j] === item ? "0" : "-1"); }
      }
    });

    tree.addEventListener("keydown", function (event) {
      var item = event.target;
      if (!item.getAttribute || item.getAttribute("role") !== "treeitem") { return; }
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      var shown = visible();
      var at = shown.indexOf(item);
      var expanded = item.getAttribute("aria-expanded");
      switch (event.key) {
        case "ArrowDown":
          if (at < shown.length - 1) { focus(shown[at + 1]); }
          break;
        case "ArrowUp":
          if (at > 0) { focus(shown[at - 1]); }
          break;
        case "ArrowRight":
          if (expanded === "false") {
            setOpen(item, true);
          } else if (expanded === "true") {
            focus(groupOf(item).querySelector("[role=treeitem]"));
          }
          break;
        case "ArrowLeft":
          if (expanded === "true") {
            setOpen(item, false);
          } else {
            var parent = parentOf(item);
            if (parent) { focus(parent); }
          }
          break;
        case "Home":
          focus(shown[0]);
          break;
        case "End":
          focus(shown[shown.length - 1]);
          break;
        default:
          return; // Enter follows the link, Tab leaves the tree
      }
      event.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var trees = document.querySelectorAll("ul.tree");
    for (var i = 0; i < trees.length; i++) { setUp(trees[i]); }
  });
})();
