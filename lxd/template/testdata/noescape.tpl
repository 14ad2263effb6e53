{% for k, v in config sorted %}{{ k }}={{ v }}
{% endfor %}<b>&</b>
