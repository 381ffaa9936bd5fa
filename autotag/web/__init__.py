"""``autotag review``: a local web page over the plan, a second front end beside the CLI.

    server.py    serve on 127.0.0.1 (a free port by default) and say the URL with its token
    security.py  token on every request, Host and Origin checks, headers that keep the page to itself
    app.py       the routes: the page, its JSON API, thumbnails; engine calls through autotag.review
    thumbs.py    thumbnails fetched from Immich with the key kept here, cached on disk
    static/      the page: plain HTML, CSS and a small script (no build step)

Nothing here decides what changes: the plan, decisions and applying are ``autotag.review`` calls.
"""
