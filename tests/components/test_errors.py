from components.errors import InputProblems, at_most


def test_a_long_list_is_cut_to_its_first_items_and_says_how_many_more():
    assert at_most(["a", "b"], 3) == ["a", "b"]
    assert at_most(["a", "b", "c"], 3) == ["a", "b", "c"]
    assert at_most([str(i) for i in range(25)], 20) == [*map(str, range(20)), "... and 5 more"]


def test_input_problems_keep_each_problem_and_say_them_all():
    problems = InputProblems(["row 0: amount is empty", "row 3: colour holds 2000000 characters"])
    assert problems.problems[1].startswith("row 3") and "  - row 0: amount is empty" in str(problems)
