/* admin/editor.js: a chart description editor with a live preview. */
/* global jQuery */
(function ($) {
  'use strict';

  $(function setUpEditor() {
    var $source = $('#editor-source');
    var $preview = $('#editor-preview');
    var $count = $('#editor-count');

    function showPreview() {
      var text = $source.val();
      $preview.empty();
      $.each(text.split(/\n{2,}/), function (_, paragraph) {
        if (paragraph.trim()) $('<p>').text(paragraph).appendTo($preview);
      });
      $count.text(text.length + ' characters');
    }

    $source.on('input', showPreview);
    showPreview();
  });
})(jQuery);
