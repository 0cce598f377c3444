// Filters the recipient list as the clerk types (the form works without it).
(function () {
  var box = document.getElementById("to-search");
  var list = document.getElementById("to");
  if (!box || !list) { return; }
  box.addEventListener("input", function () {
    var q = box.value.toLowerCase();
    var labels = list.getElementsByTagName("label");
    for (var i = 0; i < labels.length; i++) {
      var show = labels[i].textContent.toLowerCase().indexOf(q) !== -1;
      labels[i].style.display = show ? "" : "none";
    }
  });
})();
