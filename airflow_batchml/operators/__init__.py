"""Operators: validate arguments, call the hook, defer waits, push XCom, offer extra links."""
