{{ "hello"|addslashes }} {{ "it's"|addslashes }} {{ "hello"|capfirst }} [{{ "x"|center:7 }}] {{ "a-b-c"|cut:"-" }}
{{ ""|default:"def" }} {{ nothing|default_if_none:"none" }} {{ 10|divisibleby:5 }} {{ "<&>\"x"|escape }} {{ "'"|escape }} {{ "<"|e }}
{{ "a b"|escapejs }} {{ "abc"|first }} {{ "1.5"|float }} {{ 3.14159|floatformat:2 }} {{ 3.0|floatformat }} {{ 123|get_digit:2 }}
{{ "3"|integer }} {{ "a b/c?"|iriencode }} {{ "abc"|join:"," }} {{ "a,b,c"|split:","|join:"+" }} {{ "abc"|last }} {{ "abc"|length }}
{{ "abc"|length_is:3 }} {{ multi|linebreaks }} {{ multi|linebreaksbr }} {{ multi|linenumbers }} [{{ "x"|ljust:4 }}]
{{ "ABC"|lower }} {{ "ab"|make_list|join:"|" }} {{ "1-800-FLOWERS"|phone2numeric }} {{ 2|pluralize }} {{ 1|pluralize:"y,ies" }}
{{ "<b>x</b>"|removetags:"b" }} [{{ "x"|rjust:4 }}] {{ "abcdef"|slice:"1:3" }} {{ 42|stringformat:"%05d" }} {{ "s"|stringformat:"%q" }}
{{ "<p>x</p>"|striptags }} {{ "hello world"|title }} {{ "hello world"|truncatechars:8 }} {{ "<b>hello world</b>"|truncatechars_html:8 }}
{{ "a b c d"|truncatewords:2 }} {{ "<i>a b c</i>"|truncatewords_html:2 }} {{ "abc"|upper }} {{ "a b&c"|urlencode }}
{{ "see www.example.com now"|urlize }} {{ "see http://example.com/long/path"|urlizetrunc:12 }} {{ "a b c"|wordcount }}
{{ "a b c d e"|wordwrap:2 }} {{ true|yesno }} {{ false|yesno:"on,off" }} {{ "x"|safe }} {{ config|length }}
