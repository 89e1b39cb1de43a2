/* site/site.js: behaviour shared by every page. */
/* global window, jQuery */
(function ($) {
  'use strict';

  $(function markCurrentPage() {
    var here = window.location.pathname;
    $('.site-header .navbar-nav a').each(function () {
      if ($(this).attr('href') === here) $(this).parent().addClass('active');
    });
  });
})(jQuery);
