/* site/catalogue.js: the catalogue's "in stock only" filter. */
/* global jQuery */
(function ($) {
  'use strict';

  $(function setUpFilter() {
    var $button = $('#catalogue-filter');
    var $status = $('#catalogue-status');
    var $products = $('.product');
    var $soldOut = $products.filter('.sold-out');

    $button.on('click', function toggleSoldOut() {
      var onlyInStock = $button.attr('aria-pressed') !== 'true';
      $button.attr('aria-pressed', String(onlyInStock)).toggleClass('active', onlyInStock);
      $soldOut.closest('.col-sm-4').toggle(!onlyInStock);
      var shown = onlyInStock ? $products.length - $soldOut.length : $products.length;
      $status.text('Showing ' + shown + ' of ' + $products.length + ' charts');
    });
  });
})(jQuery);
