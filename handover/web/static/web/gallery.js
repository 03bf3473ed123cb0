/* The preview lightbox: a preview link opens its image in a modal <dialog> (Escape or the
   Close button shut it, and focus goes back to the link). Without this script the link
   opens the image itself. */
(function () {
  "use strict";

  var dialog = document.getElementById("lightbox");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var image = dialog.querySelector(".lightbox__image");
  var title = dialog.querySelector(".lightbox__title");
  var opener = null;

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-lightbox]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
      return;
    }
    event.preventDefault();
    opener = link;
    var thumb = link.querySelector("img");
    image.src = link.href;
    image.alt = thumb ? thumb.alt : "";
    title.textContent = link.getAttribute("data-lightbox");
    dialog.showModal();
  });

  // A click on the backdrop (the dialog itself, outside its content) closes it too.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) {
      dialog.close();
    }
  });

  dialog.addEventListener("close", function () {
    image.removeAttribute("src");
    if (opener) {
      opener.focus();
      opener = null;
    }
  });
})();
