"""Helpers shared by test packages (servers, browsers); no tests here."""
