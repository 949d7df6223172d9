"""Pages and the JSON API: parse the request, check, call one function, format the answer."""
