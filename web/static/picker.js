// The console's user picker, searching as you type (portal.md §5). The
// page works without this script: its Search users button submits the
// form to the page, which lists the matching users as radio buttons.
// This script fills the same list from GET /admin/picker/users while the
// user types, keeping a user already picked.
(function () {
  'use strict';
  document.querySelectorAll('input[data-picker]').forEach(function (input) {
    var id = input.dataset.picker;
    var box = document.getElementById(id + '-choices');
    if (!box) return;
    var timer = null;
    var seq = 0;
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); search(); }
    });
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    function search() {
      var q = input.value.trim();
      var n = ++seq;
      if (!q) return;
      var url = '/admin/picker/users?q=' + encodeURIComponent(q);
      if (input.dataset.pickerKind) url += '&kind=' + encodeURIComponent(input.dataset.pickerKind);
      fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && n === seq) show(data.users || []); })
        .catch(function () {});
    }
    function show(users) {
      var picked = box.querySelector('input:checked');
      var keep = picked ? picked.closest('p') : null;
      box.replaceChildren();
      if (keep) box.appendChild(keep);
      users.forEach(function (u, i) {
        var value = (input.dataset.pickerPrefix || '') + u.id;
        if (picked && picked.value === value) return;
        var p = document.createElement('p');
        p.className = 'check';
        var radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = input.dataset.pickerField;
        radio.value = value;
        radio.id = id + '-live-' + i;
        var label = document.createElement('label');
        label.htmlFor = radio.id;
        label.append(u.name + ' ');
        var email = document.createElement('span');
        email.className = 'muted';
        email.textContent = u.email;
        label.append(email);
        if (u.home_account_name) label.append(' · ' + u.home_account_name);
        var code = document.createElement('small');
        code.className = 'muted';
        code.textContent = u.id;
        label.append(' ', code);
        p.append(radio, ' ', label);
        box.appendChild(p);
      });
      if (!users.length && !keep) {
        var none = document.createElement('p');
        none.className = 'muted';
        none.textContent = input.dataset.pickerNone;
        box.appendChild(none);
      }
    }
  });
})();
