/* The delivery form: files chosen or dropped are listed with a progress bar each, and the
   form is sent in one request (one delivery is one service call) whose upload progress is
   shared out among the bars by each file's byte range in the body. Without this script the
   form posts as it is. */
(function () {
  "use strict";

  function sizeText(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function setUp(form) {
    var input = form.querySelector('input[type="file"][name="files"]');
    var zone = form.querySelector("[data-dropzone]");
    var list = form.querySelector("[data-uploads]");
    var status = form.querySelector("[data-upload-status]");
    var button = form.querySelector('button[type="submit"]');
    if (!input || !zone || !list) {
      return;
    }
    var bars = [];

    function listFiles() {
      list.textContent = "";
      // Hidden while empty: a list with no items confuses screen readers.
      list.hidden = input.files.length === 0;
      bars = [];
      Array.prototype.forEach.call(input.files, function (file, index) {
        var item = document.createElement("li");
        item.className = "upload";
        var id = "upload-" + index;
        var label = document.createElement("label");
        label.className = "upload__name";
        label.htmlFor = id;
        label.textContent = file.name + " (" + sizeText(file.size) + ")";
        var bar = document.createElement("progress");
        bar.id = id;
        bar.max = file.size || 1;
        bar.value = 0;
        var percent = document.createElement("span");
        percent.className = "upload__percent small";
        percent.textContent = "waiting";
        item.appendChild(label);
        item.appendChild(bar);
        item.appendChild(percent);
        list.appendChild(item);
        bars.push({ bar: bar, percent: percent, size: file.size });
      });
    }

    function addFiles(dropped) {
      if (typeof DataTransfer !== "function") {
        return;
      }
      var all = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (file) {
        all.items.add(file);
      });
      Array.prototype.forEach.call(dropped, function (file) {
        all.items.add(file);
      });
      input.files = all.files;
      listFiles();
    }

    input.addEventListener("change", listFiles);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dropzone--over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("dropzone--over");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        addFiles(event.dataTransfer.files);
      }
    });

    function showProgress(sentOfFiles) {
      var start = 0;
      bars.forEach(function (entry) {
        var done = Math.min(Math.max(sentOfFiles - start, 0), entry.size);
        entry.bar.value = done;
        var percent = entry.size ? Math.floor((done * 100) / entry.size) : 100;
        entry.percent.textContent = percent + " %";
        start += entry.size;
      });
    }

    function fail(text) {
      status.textContent = text;
      status.classList.add("upload-status--error");
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !input.files.length) {
        return; // nothing to stream: the plain post shows what is missing
      }
      event.preventDefault();
      listFiles();
      var filesBytes = bars.reduce(function (sum, entry) {
        return sum + entry.size;
      }, 0);
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-Handover-Upload", "1");
      request.setRequestHeader(
        "X-CSRFToken",
        form.querySelector('input[name="csrfmiddlewaretoken"]').value
      );
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable) {
          // The fields go first and each file has a few header bytes: count them as sent
          // before the files, so that no bar runs ahead of its file.
          var overhead = Math.max(progress.total - filesBytes, 0);
          showProgress(progress.loaded - overhead);
        }
      });
      request.addEventListener("load", function () {
        var type = request.getResponseHeader("Content-Type") || "";
        if (request.status === 200 && type.indexOf("application/json") === 0) {
          showProgress(filesBytes);
          window.location.assign(JSON.parse(request.responseText).location);
          return;
        }
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        var fresh = page.getElementById("deliver-form");
        if (fresh) {
          form.replaceWith(fresh);
          setUp(fresh);
          var invalid = fresh.querySelector('[aria-invalid="true"], .form-errors');
          if (invalid) {
            invalid.focus();
          }
          return;
        }
        fail("The delivery was refused (" + request.status + "). Reload the page and try again.");
      });
      request.addEventListener("error", function () {
        fail("The upload stopped: the connection was lost. Try again.");
      });
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      status.classList.remove("upload-status--error");
      status.textContent = "Uploading…";
      request.send(new FormData(form));
    });
  }

  var form = document.getElementById("deliver-form");
  if (form) {
    setUp(form);
  }
})();
