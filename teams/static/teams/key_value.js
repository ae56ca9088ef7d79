/* Rows of key and value inputs (teams.admin_fields.KeyValueWidget): "Add" appends a blank row, the cross
   removes one (the last one left is cleared instead). Listens on the document, so rows of inline forms added
   later (Django's "Add another") work too; without this file the widget still posts its rows. */
"use strict";
(function () {
  function clear(row) {
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
  }

  document.addEventListener("click", function (event) {
    const add = event.target.closest(".key-value-add");
    if (add) {
      event.preventDefault();
      const rows = add.closest("[data-key-value]").querySelector(".key-value-rows");
      const row = rows.lastElementChild.cloneNode(true);
      clear(row);
      row.querySelectorAll("[id]").forEach(function (element) { element.removeAttribute("id"); });
      rows.appendChild(row);
      row.querySelector("input").focus();
      return;
    }
    const remove = event.target.closest(".key-value-remove");
    if (remove) {
      event.preventDefault();
      const row = remove.closest(".key-value-row");
      if (row.parentElement.children.length === 1) {
        clear(row);
        return;
      }
      const labelled = row.querySelector("[id]");  // the input the field's label points at moves to a row left
      if (labelled) {
        (row.nextElementSibling || row.previousElementSibling).querySelector("input").id = labelled.id;
      }
      row.remove();
    }
  });

  function showButtons() {
    document.querySelectorAll("[data-key-value] [hidden]").forEach(function (button) { button.hidden = false; });
    // "Add" makes a blank row when one is wanted: the one the page carries for filling in without JavaScript goes
    document.querySelectorAll("[data-key-value] .key-value-rows").forEach(function (rows) {
      const last = rows.lastElementChild;
      const blank = last && [...last.querySelectorAll("input")].every(function (input) { return !input.value; });
      if (rows.children.length > 1 && blank && !last.querySelector("[id]")) {
        last.remove();
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showButtons);
  } else {
    showButtons();
  }
})();
