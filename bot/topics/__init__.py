"""Discussion topics: the library of topic files, and when each is released in a round."""

from bot.topics.library import (
    Topic,
    TopicFile,
    TopicFileError,
    TopicFileProblem,
    TopicLibrary,
    TopicText,
    load_topic_library,
    parse_topic_file,
)
from bot.topics.schedule import Release, due_releases, next_release, release_time, release_times

__all__ = [
    "Release",
    "Topic",
    "TopicFile",
    "TopicFileError",
    "TopicFileProblem",
    "TopicLibrary",
    "TopicText",
    "due_releases",
    "load_topic_library",
    "next_release",
    "parse_topic_file",
    "release_time",
    "release_times",
]
