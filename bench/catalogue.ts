/**
 * The realistic page of bench/request: a catalogue page in bootstrap 3's markup, about 10 kB,
 * that requires the corpus's stylesheet.
 */
import { SITE } from './common';

/**
 * Its Nunjucks templates: `with/` prints the library's tags, `without/` the same tags given as
 * fixed strings; `common/` holds the page (`extends`, a loop of 40) and its two includes.
 */
export const CATALOGUE_VIEWS: Record<string, string> = {
  'with/layout.njk': `{% requireAsset "${SITE}" %}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }} · Catalogue</title>
{% assets "css" %}
</head>
<body>
{% include "header.njk" %}
<main class="container">{% block content %}{% endblock %}</main>
{% include "footer.njk" %}
{% assets "js" %}
</body>
</html>
`,
  'without/layout.njk': `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }} · Catalogue</title>
{{ tags.css | safe }}
</head>
<body>
{% include "header.njk" %}
<main class="container">{% block content %}{% endblock %}</main>
{% include "footer.njk" %}
{{ tags.js | safe }}
</body>
</html>
`,
  'common/header.njk': `<header class="site-header navbar">
  <a class="navbar-brand" href="/">Catalogue</a>
  <ul class="nav navbar-nav">{% for link in nav %}
    <li{% if link.active %} class="active"{% endif %}><a href="{{ link.href }}">{{ link.label }}</a></li>{% endfor %}
  </ul>
  <form class="navbar-form" action="/search"><input id="filter" name="q" placeholder="Filter" value="{{ query }}"></form>
</header>
`,
  'common/footer.njk': `<footer class="site-footer">
  <p>{{ products | length }} products · page {{ pageNumber }} of {{ pages }} · <a href="/about">About</a> · <a href="/contact">Contact</a></p>
</footer>
`,
  'common/page.njk': `{% extends "layout.njk" %}
{% block content %}
<h1>{{ title }}</h1>
<p class="lead">{{ intro }}</p>
<ul id="catalogue" class="list-group catalogue">
{% for product in products %}
  <li class="list-group-item{% if loop.index is even %} even{% endif %}" data-id="{{ product.id }}">
    <a href="/products/{{ product.id }}">{{ product.name }}</a>
    <span class="badge">{{ product.count }}</span>
    <span class="price">{{ product.price }} €</span>
    {% if product.tags.length %}<small>{{ product.tags | join(", ") }}</small>{% endif %}
  </li>
{% endfor %}
</ul>
<button id="more" class="btn btn-accent">More <span id="clicks">0</span></button>
{% endblock %}
`,
};

/** What its handler renders: the page's data, the same for every request. */
export function catalogueData() {
  return {
    title: 'Kitchen & garden',
    intro: 'Everything for the kitchen and the garden, <delivered> in two days.',
    query: '',
    pageNumber: 1,
    pages: 12,
    nav: ['Home', 'Kitchen', 'Garden', 'Tools', 'Offers'].map((label, i) => ({
      label,
      href: `/${label.toLowerCase()}`,
      active: i === 1,
    })),
    products: Array.from({ length: 40 }, (_, i) => ({
      id: 1000 + i,
      name: `Product ${i + 1} "${['copper', 'steel', 'oak', 'clay'][i % 4]}"`,
      count: (i * 7) % 13,
      price: (9.5 + i * 1.25).toFixed(2),
      tags: i % 3 ? ['kitchen', 'new'] : [],
    })),
  };
}
