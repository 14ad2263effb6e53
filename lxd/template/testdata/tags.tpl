{% macro greet(who, punct="!") %}hello {{ who }}{{ punct }}{% endmacro %}{{ greet(container.name) }} {{ greet("you", "?") }}
{% set n = 3 %}{% with total=n items="abc" %}{{ total }} {{ items|length }}{% endwith %}
{% with "old" as style %}{{ style }}{% endwith %}
{% for k, v in config sorted %}{{ forloop.Counter }}/{{ forloop.Revcounter }} {{ k }}={{ v }}{% if forloop.First %} first{% endif %}{% if forloop.Last %} last{% endif %}
{% endfor %}{% for c in "abc" reversed %}{% for d in "xy" %}{{ forloop.Parentloop.Counter0 }}{{ c }}{{ d }} {% endfor %}{% endfor %}
{% for x in "" %}never{% empty %}empty{% endfor %}
{% if trigger == "start" %}start{% elif trigger == "create" %}create{% else %}other{% endif %}
{% if not container.privileged and config_get("limits.cpu", "1") == "2" %}two cpus{% endif %}
{{ "a" + "b" }} {{ 1 + 2 }} {{ "x"|add:"y" }} {{ 3|add:4 }}
{% lorem 3 w %}
{% autoescape on %}{{ "<b>&" }}{% endautoescape %}
{% firstof "" "first" %} {% widthratio 3 4 100 %} {% templatetag openblock %}
{% verbatim %}{{ kept }}{% endverbatim %}
{% ifequal trigger "create" %}eq{% else %}ne{% endifequal %} {% ifnotequal trigger "create" %}ne{% else %}eq{% endifnotequal %} {% ifequal 1 2 %}no{% endifequal %}
{% widthratio 1 3 100 as w %}{{ w }} {% widthratio 175 200 100 %}
